"""Chinese (Simplified) and English. The application's own strings come from
``resources/translations/custodian_<lang>.qm`` (built from the .ts sources with
pyside6-lrelease); Qt's own dialogs from Qt's ``qtbase_<lang>.qm`` (QLibraryInfo)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from custodian_app.support.resources import resource

LANGUAGES = {"zh_CN": "简体中文", "en": "English"}

_installed: list[QTranslator] = []


def translations_dir():
    return resource("translations")


def install(language: str) -> bool:
    """Switch the application's language; True if every catalogue loaded. English needs none."""
    app = QCoreApplication.instance()
    for t in _installed:
        app.removeTranslator(t)
    _installed.clear()
    if language not in LANGUAGES:
        language = "zh_CN"
    QLocale.setDefault(
        QLocale(QLocale.Language.Chinese, QLocale.Country.China)
        if language == "zh_CN"
        else QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom)
    )
    if language == "en":
        return True
    ok = True
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name, where in ((f"qtbase_{language}", qt_dir), (f"custodian_{language}", str(translations_dir()))):
        t = QTranslator(app)
        if t.load(name, where):
            app.installTranslator(t)
            _installed.append(t)
        else:
            ok = False
    return ok
