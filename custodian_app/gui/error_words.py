"""What the user reads when something fails, in Chinese and in English.

The lower layers (link, backend, store, report) word their errors in English for the log and
the command line, sometimes with a library's own text inside ("ConnectionRefusedError:
[Errno 111]"). The window never shows those strings: it words each failure here, from the
exception's class (most specific first along its MRO, so a new subclass inherits its
parent's words) and its structured fields (``attempts_left``, ``until``, ``terminal_id`` …),
or the library error it was raised from (``__cause__``: a port that does not exist, a
permission refused). Keyed by dotted name so that this module imports none of those layers.
Each message says what happened and the one thing to do next. The layer's own text goes to
the log (``workers.describe_error`` logs it).
"""

from __future__ import annotations

import errno
import re
from datetime import datetime

# (English, Chinese); {name} is filled from the exception's fields or the caller's context
WORDS: dict[str, tuple[str, str]] = {
    # ATM link
    "custodian_app.link.errors.PortError": (
        "The serial port {port} cannot be opened: check the cable and the port chosen, then try again.",
        "无法打开串口 {port}：请检查线缆和所选端口后重试。",
    ),
    "custodian_app.link.errors.LinkTimeout": (
        "The ATM does not answer: check the cable, that the ATM is in maintenance mode and the line speed.",
        "ATM 无应答：请检查线缆、ATM 是否处于维护模式以及线路速率。",
    ),
    "custodian_app.link.errors.LinkClosed": (
        "The connection to the ATM on {port} was lost: check that the cable is plugged in at both "
        "ends, then try again.",
        "与 ATM（{port}）的连接已断开：请检查线缆两端是否插好，然后重试。",
    ),
    "custodian_app.link.errors.FramingError": (
        "The line to the ATM is disturbed: check the cable, then try again.",
        "与 ATM 的通讯受到干扰：请检查线缆后重试。",
    ),
    "custodian_app.link.errors.ProtocolVersionError": (
        "The ATM speaks a maintenance protocol version this program does not: call IT support.",
        "ATM 的维护协议版本与本程序不兼容：请联系科技部门。",
    ),
    "custodian_app.link.errors.ProtocolError": (
        "The ATM answered something unexpected: try again; if it happens again, call IT support.",
        "与 ATM 的通讯出错：请重试，如仍失败请联系科技部门。",
    ),
    "custodian_app.link.errors.AtmSourceLost": (
        "The ATM agent cannot reach a source it needs (the XFS4IoT service, the journal or the FSN "
        "files): follow the note below, or ask IT to check the ATM agent.",
        "ATM 代理取不到所需的数据源（XFS4IoT 服务、电子日志或冠字号文件）：请按下面的说明处理，或请科技部门检查 ATM 代理。",
    ),
    "custodian_app.link.errors.AtmRefused": (
        "The ATM refused the command (code {completion_code}): check the ATM's state, then try again.",
        "ATM 拒绝了该命令（代码 {completion_code}）：请查看 ATM 状态后重试。",
    ),
    "custodian_app.link.errors.CycleChanged": (
        "The ATM has started another clearing cycle: read the ledger again.",
        "ATM 已进入另一个清机周期：请重新读取。",
    ),
    "custodian_app.link.errors.ReadCancelled": ("The read was cancelled.", "已取消读取。"),
    "custodian_app.link.errors.LinkError": (
        "Talking to the ATM failed: check the cable, then try again.",
        "与 ATM 的连接出错：请检查线缆后重试。",
    ),
    # backend
    "custodian_app.backend.errors.BackendAuthError": (
        "The backend refused the access token: check the token in the settings.",
        "后台拒绝了访问令牌：请在设置中检查令牌。",
    ),
    "custodian_app.backend.errors.BackendTLSError": (
        "The backend's certificate could not be verified: check the CA certificate file in the settings.",
        "后台证书校验失败：请在设置中检查 CA 证书文件。",
    ),
    "custodian_app.backend.errors.BackendTimeout": (
        "The backend did not answer in time: try again, or import the settlement file.",
        "后台响应超时：请重试，或改为导入结算文件。",
    ),
    "custodian_app.backend.errors.BackendUnreachable": (
        "The backend cannot be reached: check the network and the backend address in the settings, "
        "or import the settlement file.",
        "无法连接后台：请检查网络和设置中的后台地址，或改为导入结算文件。",
    ),
    "custodian_app.backend.errors.BackendServerError": (
        "The backend failed (HTTP {status}): try again later, or import the settlement file.",
        "后台服务出错（HTTP {status}）：请稍后重试，或改为导入结算文件。",
    ),
    "custodian_app.backend.errors.BackendNotFound": (
        "The backend has no ledger for ATM {terminal_id} in this cycle: import the settlement file, "
        "or ask the backend office.",
        "后台没有 ATM {terminal_id} 本周期的账务：请导入结算文件，或询问后台部门。",
    ),
    "custodian_app.backend.errors.BackendMismatch": (
        "The backend's ledger belongs to another clearing (ATM, cycle or currency differ): ask the "
        "backend office.",
        "后台账务不属于本次清机（终端、周期或币种不符）：请询问后台部门。",
    ),
    "custodian_app.backend.errors.BackendReplyError": (
        "The backend's ledger is not valid and was refused as a whole: call IT support.",
        "后台返回的账务无效，已整体拒收：请联系科技部门。",
    ),
    "custodian_app.backend.errors.BackendCancelled": ("Fetching was cancelled.", "已取消获取后台账务。"),
    "custodian_app.backend.errors.SettlementError": (
        "The settlement file is not valid; nothing was imported: ask the backend office for a new one.",
        "结算文件无效，未导入任何记录：请向后台部门索取新的结算文件。",
    ),
    "custodian_app.backend.errors.BackendError": (
        "Talking to the backend failed: try again, or import the settlement file.",
        "后台连接出错：请重试，或改为导入结算文件。",
    ),
    # store
    "custodian_app.store.errors.WrongPassword": (
        "Wrong password for {username}: {tries}.",
        "{username} 的密码错误：{tries}。",
    ),
    "custodian_app.store.errors.AccountLocked": (
        "The account {username} is locked after repeated wrong passwords until {until}: wait, or ask "
        "an administrator to unlock it.",
        "账户 {username} 因多次密码错误已被锁定，至 {until} 解锁：请等待，或请管理员解锁。",
    ),
    "custodian_app.store.errors.AccountDisabled": (
        "The account {username} is disabled: ask an administrator.",
        "账户 {username} 已停用：请联系管理员。",
    ),
    "custodian_app.store.errors.UnknownUser": (
        "There is no user {username}: check the spelling, or ask an administrator to add you.",
        "没有用户 {username}：请检查拼写，或请管理员添加。",
    ),
    "custodian_app.store.errors.TerminalBusy": (
        "ATM {terminal_id} is already being cleared by {custodians} on PC {host} since {since}: "
        "resume that clearing there, or have it abandoned first.",
        "ATM {terminal_id} 正由 {custodians} 在电脑 {host} 上清机（自 {since} 起）：请在那台电脑上继续，"
        "或先放弃那次清机。",
    ),
    "custodian_app.store.errors.CustodyError": (
        "Dual custody is not met: two different custodians sign in, and the supervisor is a third person.",
        "不符合双人管机规定：需两名不同的管机员，签核主管须为第三人。",
    ),
    "custodian_app.store.errors.DatabaseUnavailable": (
        "The database cannot be reached: check the network or the database setting, then try again.",
        "无法访问数据库：请检查网络或数据库设置，稍后重试。",
    ),
    "custodian_app.store.errors.StoreError": (
        "The clearing record could not be saved: try again; if it happens again, call IT support.",
        "清机记录无法保存：请重试，如仍失败请联系科技部门。",
    ),
    # documents, report, settings, the clearing itself
    "custodian_app.domain.reading.FormatError": (
        "The file is not valid and was refused as a whole.",
        "文件无效，已整体拒收。",
    ),
    "custodian_app.report.errors.ReportError": (
        "The clearing report could not be made: try again; if it happens again, call IT support.",
        "清机报告无法生成：请重试，如仍失败请联系科技部门。",
    ),
    "custodian_app.settings.keys.SettingsError": (
        "The settings are not valid: correct them in Settings.",
        "设置无效：请在“设置”中更正。",
    ),
    "custodian_app.domain.flow.FlowError": (
        "This step is not possible now: go back to the step the wizard asks for.",
        "现在不能进行这一步：请回到向导提示的步骤。",
    ),
    "custodian_app.clearing.WrongRole": (
        "{username} is a {role}, not a {wanted}: a {wanted} signs in here.",
        "{username} 是{role}，不是{wanted}：此处须由{wanted}登录。",
    ),
    "custodian_app.clearing.ClearingError": (
        "The clearing cannot go on: go back and connect to the ATM again.",
        "清机无法继续：请返回并重新连接 ATM。",
    ),
    "custodian_app.domain.errors.CustodianError": (
        "This could not be done: try again; if it happens again, call IT support.",
        "无法完成此操作：请重试，如仍失败请联系科技部门。",
    ),
}

# A port that could not be opened, by what the system said (the PortError's cause)
PORT_WORDS = {
    "missing": (
        "The serial port {port} does not exist: check that the cable is plugged in and the "
        "port chosen (press Refresh to list them).",
        "串口 {port} 不存在：请检查线缆是否插好以及所选端口（按“刷新”列出端口）。",
    ),
    "busy": (
        "The serial port {port} is in use by another program: close that program, then try again.",
        "串口 {port} 正被其他程序占用：请关闭该程序后重试。",
    ),
    "permission": (
        "This PC's user account may not open the serial port {port}: ask IT to allow it (the dialout group).",
        "本机用户无权打开串口 {port}：请联系科技部门开通权限（dialout 组）。",
    ),
}

# Errors whose message names where and what (a file's line, another cycle's id, who may not):
# the words above are followed by the layer's own sentence, which says exactly what is wrong
DETAILED = {
    "custodian_app.domain.reading.FormatError",
    "custodian_app.backend.errors.SettlementError",
    "custodian_app.backend.errors.BackendMismatch",
    "custodian_app.backend.errors.BackendReplyError",
    "custodian_app.store.errors.CustodyError",
    "custodian_app.store.errors.InvalidTransition",
    "custodian_app.domain.flow.FlowError",
    "custodian_app.clearing.ClearingError",
    "custodian_app.domain.errors.CustodianError",
}

ROLE_NAMES = {
    "custodian": ("custodian", "管机员"),
    "supervisor": ("supervisor", "主管"),
    "admin": ("administrator", "管理员"),
    "administrator": ("administrator", "管理员"),
}

UNEXPECTED = (
    "Something unexpected went wrong ({kind}). The details are in the log file; try "
    "again, and call IT support if it happens again.",
    "发生意外错误（{kind}）。详情已写入日志文件；请重试，如仍出现请联系科技部门。",
)


def chinese() -> bool:
    from PySide6.QtCore import QLocale

    return QLocale().language() == QLocale.Language.Chinese


def local_time(at: datetime | str | None) -> str:
    """A moment in the branch's local time, formatted for the interface's language (an RFC 3339
    text from a ledger too; one that does not parse is shown as it is)."""
    if at is None or at == "":
        return ""
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return at
    from PySide6.QtCore import QDateTime, QLocale

    if at.tzinfo is not None:
        at = at.astimezone()  # the PC's zone: the branch's
    moment = QDateTime(at.year, at.month, at.day, at.hour, at.minute, at.second)
    return QLocale().toString(moment, QLocale.FormatType.ShortFormat)


def tries_left(n: int, zh: bool) -> str:
    if zh:
        return f"再错 {n} 次账户将被锁定" if n > 0 else "账户已被锁定"
    if n <= 0:
        return "the account is now locked"
    return f"{n} more {'try' if n == 1 else 'tries'} before the account is locked"


def _port_reason(exc: BaseException) -> str | None:
    """Why a port did not open, from the library error it was raised from."""
    cause = exc.__cause__
    if cause is None:
        return None
    code = getattr(cause, "errno", None)
    text = str(cause)
    if isinstance(cause, FileNotFoundError) or code == errno.ENOENT or "No such file" in text:
        return "missing"
    if isinstance(cause, PermissionError) or code == errno.EACCES or "Permission denied" in text:
        return "permission"
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY) or "exclusively lock" in text:
        return "busy"
    return None


def _fields(exc: BaseException, context: dict, zh: bool) -> dict:
    fields = {k: v for k, v in vars(exc).items() if not k.startswith("_")} if hasattr(exc, "__dict__") else {}
    for name in ("until", "since"):
        if isinstance(fields.get(name), datetime):
            fields[name] = local_time(fields[name])
    if "custodians" in fields and isinstance(fields["custodians"], (tuple, list)):
        fields["custodians"] = ("、" if zh else " and ").join(fields["custodians"])
    for name in ("role", "wanted"):
        if fields.get(name) in ROLE_NAMES:
            fields[name] = ROLE_NAMES[fields[name]][1 if zh else 0]
    if "attempts_left" in fields:
        fields["tries"] = tries_left(int(fields["attempts_left"]), zh)
    for key, value in context.items():
        fields.setdefault(key, value)
    return fields


def words_for(exc: BaseException, *, zh: bool | None = None, **context) -> str | None:
    """Our words for ``exc`` in the interface's language (``zh`` forces one), or None for an
    error that is not ours. ``context``: what the caller knows that the error may not carry
    (``port``, ``url``)."""
    zh = chinese() if zh is None else zh
    pick = 1 if zh else 0
    fields = _fields(exc, context, zh)
    dotted = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    if "custodian_app.link.errors.PortError" in dotted and context.get("lost"):
        # it had opened at connect: failing now, the cable or the adapter went away
        return _fill(WORDS["custodian_app.link.errors.LinkClosed"][pick], fields)
    if "custodian_app.link.errors.PortError" in dotted:
        reason = _port_reason(exc)
        if reason:
            return _fill(PORT_WORDS[reason][pick], fields)
    for name in dotted:
        pair = WORDS.get(name)
        if pair is not None:
            text = _fill(pair[pick], fields)
            if name in DETAILED:
                text += ("\n详情：" if zh else "\n") + str(exc)
            return text
    return None


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, fields: dict) -> str:
    text = template.format_map(_Blank(fields))
    # a field the error did not carry leaves no empty brackets or doubled spaces behind
    for empty in (
        " (at : )",
        " (at )",
        "（位置 ）",
        " (code )",
        "（代码 ）",
        " (HTTP )",
        "（HTTP ）",
        " ()",
        "（）",
    ):
        text = text.replace(empty, "")
    return re.sub(r" {2,}", " ", text)


def unexpected(exc: BaseException, *, zh: bool | None = None) -> str:
    zh = chinese() if zh is None else zh
    return UNEXPECTED[1 if zh else 0].format(kind=type(exc).__name__)
