; NSIS installer of custodian-app for Windows (per-machine, 64-bit).
;
; Build (on Windows, after PyInstaller produced dist\custodian-app\; docs/packaging.md):
;   makensis /DVERSION=0.1.0 packaging\windows\installer.nsi
; Output: dist\custodian-app-0.1.0-setup.exe
;
; Silent install for IT's software distribution:  custodian-app-0.1.0-setup.exe /S
; (optionally /D=C:\Apps\custodian-app as the LAST argument to choose the folder).
; Silent uninstall:  "C:\Program Files\custodian-app\uninstall.exe" /S

Unicode true
SetCompressor /SOLID lzma
ManifestDPIAware true

!ifndef VERSION
  !error "Pass the version: makensis /DVERSION=0.1.0 packaging\windows\installer.nsi"
!endif

!define APPNAME "custodian-app"
!define DISPLAYNAME "Custodian ATM Clearing"
!define PUBLISHER "custodian-app"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME}"
; Paths relative to this script (packaging\windows\). BUNDLE and OUTDIR may be given on the
; command line: packaging/windows/check-installer compiles this script in CI against a stand-in
; bundle in a temporary folder (/DBUNDLE=... /DOUTDIR=...).
!define ROOT "..\.."
!ifndef BUNDLE
  !define BUNDLE "${ROOT}\dist\custodian-app"
!endif
!ifndef OUTDIR
  !define OUTDIR "${ROOT}\dist"
!endif

!include "MUI2.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

Name "${DISPLAYNAME} ${VERSION}"
OutFile "${OUTDIR}\${APPNAME}-${VERSION}-setup.exe"
InstallDir "$PROGRAMFILES64\${APPNAME}"
InstallDirRegKey HKLM "Software\${APPNAME}" "InstallDir"
; Per-machine: one installation for every custodian who signs in to the branch PC.
RequestExecutionLevel admin
BrandingText "${DISPLAYNAME} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${DISPLAYNAME}"
VIAddVersionKey "FileDescription" "${DISPLAYNAME} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!define MUI_ICON "${ROOT}\resources\icons\custodian-app.ico"
!define MUI_UNICON "${ROOT}\resources\icons\custodian-app.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\custodian-app.exe"
!define MUI_FINISHPAGE_RUN_NOTCHECKED

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "${DISPLAYNAME} needs 64-bit Windows 10 or later."
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
  !insertmacro MUI_LANGDLL_DISPLAY
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "custodian-app" SecMain
  SectionIn RO
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  ; An upgrade replaces the program files entirely: stale libraries of an older PyInstaller
  ; build must not be picked up. The users' data (%LOCALAPPDATA%) and IT's settings
  ; (%PROGRAMDATA%) are not under $INSTDIR and are left alone.
  RMDir /r "$INSTDIR\_internal"
  File /r "${BUNDLE}\*.*"

  ; IT's settings folder, with the documented example beside the real file. An existing
  ; settings.toml is never overwritten: IT owns it.
  CreateDirectory "$APPDATA\${APPNAME}"
  SetOutPath "$APPDATA\${APPNAME}"
  File "${ROOT}\packaging\settings.example.toml"
  SetOutPath "$INSTDIR"

  ; Start menu: the application, and the diagnostics export for support.
  CreateDirectory "$SMPROGRAMS\${DISPLAYNAME}"
  CreateShortCut "$SMPROGRAMS\${DISPLAYNAME}\${DISPLAYNAME}.lnk" "$INSTDIR\custodian-app.exe" "" "$INSTDIR\custodian-app.exe" 0
  CreateShortCut "$SMPROGRAMS\${DISPLAYNAME}\${DISPLAYNAME} (demo).lnk" "$INSTDIR\custodian-app.exe" "demo" "$INSTDIR\custodian-app.exe" 0
  CreateShortCut "$SMPROGRAMS\${DISPLAYNAME}\Uninstall.lnk" "$INSTDIR\uninstall.exe"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "Software\${APPNAME}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${DISPLAYNAME}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\custodian-app.exe,0"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINSTKEY}" "EstimatedSize" "$0"
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\${DISPLAYNAME}\${DISPLAYNAME}.lnk"
  Delete "$SMPROGRAMS\${DISPLAYNAME}\${DISPLAYNAME} (demo).lnk"
  Delete "$SMPROGRAMS\${DISPLAYNAME}\Uninstall.lnk"
  RMDir "$SMPROGRAMS\${DISPLAYNAME}"

  ; Only what the installer put there. The clearing database and logs in each user's
  ; %LOCALAPPDATA%\custodian-app are legal records and IT's %PROGRAMDATA% settings.toml is
  ; theirs: both stay.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\custodian-app.exe"
  Delete "$INSTDIR\custodian-app-cli.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$APPDATA\${APPNAME}\settings.example.toml"
  RMDir "$APPDATA\${APPNAME}"  ; removed only if IT never put a settings.toml there

  DeleteRegKey HKLM "${UNINSTKEY}"
  DeleteRegKey HKLM "Software\${APPNAME}"
SectionEnd
