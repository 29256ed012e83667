"""A Chinese headline for each kind of error the lower layers raise.

The link, backend, store and report word their errors in English, with the details that
matter (ports, paths, terminal ids). A custodian working in Chinese gets a headline in
Chinese that says what happened and what to do, followed by those details. Keyed by class
(most specific first along the exception's MRO) so that a new subclass inherits its parent's
words; keyed by dotted name so that this module imports none of those layers.
"""

from __future__ import annotations

HEADLINES_ZH: dict[str, str] = {
    # ATM link
    "custodian_app.link.errors.PortError": "无法打开串口：请检查线缆、所选端口以及本机用户是否有串口权限。",
    "custodian_app.link.errors.LinkTimeout": "ATM 无应答：请检查线缆、ATM 是否处于维护模式以及线路速率。",
    "custodian_app.link.errors.LinkClosed": "与 ATM 的连接已断开：请插好线缆后重试，读取会从断点继续。",
    "custodian_app.link.errors.FramingError": "与 ATM 的通讯受到干扰：请检查线缆后重试。",
    "custodian_app.link.errors.ProtocolVersionError": "ATM 的维护协议版本与本程序不兼容：请联系科技部门。",
    "custodian_app.link.errors.ProtocolError": "与 ATM 的通讯出错：请重试，如仍失败请联系科技部门。",
    "custodian_app.link.errors.AtmSourceLost": "ATM 代理取不到所需的数据源（XFS4IoT 服务、电子日志或冠字号文件）：请按下面的说明处理，或请科技部门检查 ATM 代理。",
    "custodian_app.link.errors.AtmRefused": "ATM 拒绝了该命令：请查看 ATM 状态后重试。",
    "custodian_app.link.errors.CycleChanged": "ATM 已进入另一个清机周期：请重新读取。",
    "custodian_app.link.errors.ReadCancelled": "已取消读取。",
    "custodian_app.link.errors.LinkError": "与 ATM 的连接出错：请检查线缆后重试。",
    # backend
    "custodian_app.backend.errors.BackendAuthError": "后台拒绝了访问令牌：请在设置中检查令牌。",
    "custodian_app.backend.errors.BackendTLSError": "后台证书校验失败：请在设置中检查 CA 证书文件。",
    "custodian_app.backend.errors.BackendTimeout": "后台响应超时：请重试，或改为导入结算文件。",
    "custodian_app.backend.errors.BackendUnreachable": "无法连接后台：请重试，或改为导入结算文件。",
    "custodian_app.backend.errors.BackendServerError": "后台服务出错：请稍后重试，或改为导入结算文件。",
    "custodian_app.backend.errors.BackendNotFound": "后台没有该终端或该周期的账务。",
    "custodian_app.backend.errors.BackendMismatch": "后台账务不属于本次清机（终端、周期或币种不符）。",
    "custodian_app.backend.errors.BackendReplyError": "后台返回的账务无效，已整体拒收：请联系科技部门。",
    "custodian_app.backend.errors.BackendCancelled": "已取消获取后台账务。",
    "custodian_app.backend.errors.SettlementError": "结算文件无效，未导入任何记录。",
    "custodian_app.backend.errors.BackendError": "后台连接出错。",
    # store
    "custodian_app.store.errors.WrongPassword": "密码错误。",
    "custodian_app.store.errors.AccountLocked": "该账户因多次密码错误已被锁定。",
    "custodian_app.store.errors.AccountDisabled": "该账户已停用：请联系管理员。",
    "custodian_app.store.errors.UnknownUser": "没有该用户。",
    "custodian_app.store.errors.TerminalBusy": "该 ATM 正在清机中，不能同时再开一次清机。",
    "custodian_app.store.errors.CustodyError": "不符合双人管机规定：需两名不同的管机员，签核主管须为第三人。",
    "custodian_app.store.errors.DatabaseUnavailable": "无法访问数据库：请检查网络或数据库设置，稍后重试。",
    "custodian_app.store.errors.StoreError": "清机记录无法保存。",
    # documents, report, settings, the clearing itself
    "custodian_app.domain.formats.FormatError": "数据文件无效，已整体拒收。",
    "custodian_app.report.errors.ReportError": "清机报告无法生成。",
    "custodian_app.config.SettingsError": "设置无效。",
    "custodian_app.clearing.ClearingError": "清机无法继续。",
}


def headline_zh(exc: BaseException) -> str | None:
    """The Chinese headline for ``exc``, from its most specific known class, or None."""
    for cls in type(exc).__mro__:
        words = HEADLINES_ZH.get(f"{cls.__module__}.{cls.__qualname__}")
        if words is not None:
            return words
    return None
