<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name></name>
    <message>
        <source>ATM clearing</source>
        <translation>ATM 清机对账</translation>
    </message>
    <message>
        <source>&amp;Clearing</source>
        <translation>清机(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;New clearing…</source>
        <translation>新建清机(&amp;N)…</translation>
    </message>
    <message>
        <source>&amp;Resume an interrupted clearing…</source>
        <translation>继续中断的清机(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>T&amp;ools</source>
        <translation>工具(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;New clearing</source>
        <translation>新建清机(&amp;N)</translation>
    </message>
    <message>
        <source>No clearing on record yet. Press New clearing (Ctrl+N) to clear an ATM: two custodians sign in, then the wizard leads the way.</source>
        <translation>尚无清机记录。按“新建清机”（Ctrl+N）开始清机：两名管机员登录后，向导会逐步引导。</translation>
    </message>
    <message>
        <source>Terminal</source>
        <translation>终端</translation>
    </message>
    <message>
        <source>Cycle</source>
        <translation>周期</translation>
    </message>
    <message>
        <source>Last clearing</source>
        <translation>最近清机</translation>
    </message>
    <message>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation>平账</translation>
    </message>
    <message>
        <source>Custodians</source>
        <translation>管机员</translation>
    </message>
    <message>
        <source>Terminals and their last clearing</source>
        <translation>各终端及其最近一次清机</translation>
    </message>
    <message>
        <source>&amp;Terminals</source>
        <translation>终端(&amp;T)</translation>
    </message>
    <message>
        <source>Session</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>开始时间</translation>
    </message>
    <message>
        <source>Supervisor</source>
        <translation>主管</translation>
    </message>
    <message>
        <source>Mismatches</source>
        <translation>不符笔数</translation>
    </message>
    <message>
        <source>Clearing history</source>
        <translation>清机历史</translation>
    </message>
    <message>
        <source>&amp;Reprint report…</source>
        <translation>重印报告(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>历史(&amp;H)</translation>
    </message>
    <message>
        <source>Banknote serial, e.g. AB12345678 (? for an unreadable character)</source>
        <translation>冠字号，例如 AB12345678（无法识别的字符用 ?）</translation>
    </message>
    <message>
        <source>&amp;Search</source>
        <translation>查询(&amp;S)</translation>
    </message>
    <message>
        <source>S&amp;erial (冠字号)</source>
        <translation>冠字号(&amp;E)</translation>
    </message>
    <message>
        <source>Banknote movements found</source>
        <translation>查到的钞票流转</translation>
    </message>
    <message>
        <source>&amp;Banknote serials</source>
        <translation>冠字号查询(&amp;B)</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>冠字号</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>面额</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>去向</translation>
    </message>
    <message>
        <source>TSN</source>
        <translation>流水号</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Card</source>
        <translation>卡号</translation>
    </message>
    <message>
        <source>The open clearing keeps its language until it is finished or reopened.</source>
        <translation>正在进行的清机在完成或重新打开之前保持原来的语言。</translation>
    </message>
    <message>
        <source>1 session on record</source>
        <translation>共 1 次清机记录</translation>
    </message>
    <message>
        <source>%1 sessions on record</source>
        <translation>共 %1 次清机记录</translation>
    </message>
    <message>
        <source>Type at least 4 characters of the serial.</source>
        <translation>请至少输入冠字号的 4 个字符。</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>正在查询…</translation>
    </message>
    <message>
        <source>1 banknote movement found.</source>
        <translation>找到 1 条钞票流转记录。</translation>
    </message>
    <message>
        <source>%1 banknote movements found.</source>
        <translation>找到 %1 条钞票流转记录。</translation>
    </message>
    <message>
        <source>Select a session first.</source>
        <translation>请先选择一个会话。</translation>
    </message>
    <message>
        <source>This session has no report (it ended before the report).</source>
        <translation>该会话没有报告（在生成报告之前已结束）。</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>No interrupted clearing is waiting.</source>
        <translation>没有待继续的中断清机。</translation>
    </message>
    <message>
        <source>The clearing of terminal %1 (cycle %2) by %3 was interrupted at &quot;%4&quot;. Resume it?</source>
        <translation>终端 %1（周期 %2）由 %3 进行的清机在“%4”步骤中断。是否继续？</translation>
    </message>
    <message>
        <source>Resume the interrupted clearing?</source>
        <translation>继续中断的清机？</translation>
    </message>
    <message>
        <source>The session cannot be resumed: %1</source>
        <translation>无法继续该会话：%1</translation>
    </message>
    <message>
        <source>withdrawal</source>
        <translation>取款</translation>
    </message>
    <message>
        <source>deposit</source>
        <translation>存款</translation>
    </message>
    <message>
        <source>taken</source>
        <translation>已取走</translation>
    </message>
    <message>
        <source>retracted</source>
        <translation>已回收</translation>
    </message>
    <message>
        <source>deposited</source>
        <translation>已存入</translation>
    </message>
    <message>
        <source>returned</source>
        <translation>已退还</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>已拒收</translation>
    </message>
    <message>
        <source>open</source>
        <translation>开放</translation>
    </message>
    <message>
        <source>closed</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>exchange</source>
        <translation>加钞中</translation>
    </message>
    <message>
        <source>signed in</source>
        <translation>已登录</translation>
    </message>
    <message>
        <source>ATM ledger read</source>
        <translation>已读取 ATM 流水</translation>
    </message>
    <message>
        <source>cash counted</source>
        <translation>已清点现金</translation>
    </message>
    <message>
        <source>backend ledger fetched</source>
        <translation>已获取后台账务</translation>
    </message>
    <message>
        <source>reconciled</source>
        <translation>已对账</translation>
    </message>
    <message>
        <source>reviewed</source>
        <translation>已复核</translation>
    </message>
    <message>
        <source>signed off</source>
        <translation>主管已签核</translation>
    </message>
    <message>
        <source>new cycle started</source>
        <translation>新周期已开始</translation>
    </message>
    <message>
        <source>abandoned</source>
        <translation>已放弃</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>cash out</source>
        <translation>取款箱</translation>
    </message>
    <message>
        <source>cash in</source>
        <translation>存款箱</translation>
    </message>
    <message>
        <source>recycling</source>
        <translation>循环箱</translation>
    </message>
    <message>
        <source>reject bin</source>
        <translation>废钞箱</translation>
    </message>
    <message>
        <source>retract bin</source>
        <translation>回收箱</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>钞箱</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Initial</source>
        <translation>初始张数</translation>
    </message>
    <message>
        <source>Out</source>
        <translation>出钞</translation>
    </message>
    <message>
        <source>In</source>
        <translation>进钞</translation>
    </message>
    <message>
        <source>Count</source>
        <translation>现有张数</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>金额</translation>
    </message>
    <message>
        <source>mixed</source>
        <translation>混合</translation>
    </message>
    <message>
        <source>No cassettes read yet</source>
        <translation>尚未读取钞箱</translation>
    </message>
    <message>
        <source>Loading amount</source>
        <translation>加钞金额</translation>
    </message>
    <message>
        <source>Withdrawals (count)</source>
        <translation>取款笔数</translation>
    </message>
    <message>
        <source>Withdrawals (amount)</source>
        <translation>取款金额</translation>
    </message>
    <message>
        <source>Deposits (count)</source>
        <translation>存款笔数</translation>
    </message>
    <message>
        <source>Deposits (amount)</source>
        <translation>存款金额</translation>
    </message>
    <message>
        <source>Item</source>
        <translation>项目</translation>
    </message>
    <message>
        <source>ATM</source>
        <translation>ATM</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>后台</translation>
    </message>
    <message>
        <source>Equal</source>
        <translation>核对</translation>
    </message>
    <message>
        <source>equal</source>
        <translation>相符</translation>
    </message>
    <message>
        <source>differs</source>
        <translation>不符</translation>
    </message>
    <message>
        <source>Duplicate booking</source>
        <translation>重复记账</translation>
    </message>
    <message>
        <source>Backend lost a booking</source>
        <translation>后台漏记账</translation>
    </message>
    <message>
        <source>Dispensed, not debited</source>
        <translation>已出钞未扣账</translation>
    </message>
    <message>
        <source>Deposit not credited</source>
        <translation>已存款未入账</translation>
    </message>
    <message>
        <source>Response codes disagree</source>
        <translation>应答码不一致</translation>
    </message>
    <message>
        <source>Amounts differ</source>
        <translation>金额不符</translation>
    </message>
    <message>
        <source>Retracted</source>
        <translation>吞钞</translation>
    </message>
    <message>
        <source>Debited, not dispensed</source>
        <translation>已扣账未出钞</translation>
    </message>
    <message>
        <source>Partial dispense</source>
        <translation>部分出钞</translation>
    </message>
    <message>
        <source>Over-dispense</source>
        <translation>多出钞</translation>
    </message>
    <message>
        <source>Credited, not deposited</source>
        <translation>已入账未存款</translation>
    </message>
    <message>
        <source>Deposit count differs</source>
        <translation>存款点钞不符</translation>
    </message>
    <message>
        <source>Only on the backend</source>
        <translation>仅后台有记录</translation>
    </message>
    <message>
        <source>Loading amounts differ</source>
        <translation>加钞金额不符</translation>
    </message>
    <message>
        <source>Banknote trail differs</source>
        <translation>冠字号流水不符</translation>
    </message>
    <message>
        <source>Totals inconsistent</source>
        <translation>总账自相矛盾</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>ATM amount</source>
        <translation>ATM 金额</translation>
    </message>
    <message>
        <source>Backend amount</source>
        <translation>后台金额</translation>
    </message>
    <message>
        <source>Reject code</source>
        <translation>拒绝码</translation>
    </message>
    <message>
        <source>Cash effect</source>
        <translation>现金影响</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>处理办法</translation>
    </message>
    <message>
        <source>Remark</source>
        <translation>备注</translation>
    </message>
    <message>
        <source>Clearing report</source>
        <translation>清机报告</translation>
    </message>
    <message>
        <source>&amp;Print…</source>
        <translation>打印(&amp;P)…</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>Sent %1 pages to the printer.</source>
        <translation>已发送 %1 页到打印机。</translation>
    </message>
    <message>
        <source>Sent 1 page to the printer.</source>
        <translation>已发送 1 页到打印机。</translation>
    </message>
    <message>
        <source>Bank</source>
        <translation>银行</translation>
    </message>
    <message>
        <source>Branch</source>
        <translation>网点</translation>
    </message>
    <message>
        <source>Default serial port</source>
        <translation>默认串口</translation>
    </message>
    <message>
        <source>Backend address (https://…)</source>
        <translation>后台地址（https://…）</translation>
    </message>
    <message>
        <source>Backend access token</source>
        <translation>后台访问令牌</translation>
    </message>
    <message>
        <source>Database URL (empty: the local database)</source>
        <translation>数据库地址（留空：本机数据库）</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Set by IT; cannot be changed here.</source>
        <translation>由科技部门设定，此处不能修改。</translation>
    </message>
    <message>
        <source>Line speed</source>
        <translation>波特率</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Clear an ATM</source>
        <translation>ATM 清机</translation>
    </message>
    <message>
        <source>&amp;Abandon…</source>
        <translation>放弃清机(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Next &gt;</source>
        <translation>下一步(&amp;N) &gt;</translation>
    </message>
    <message>
        <source>The database</source>
        <translation>数据库</translation>
    </message>
    <message>
        <source>The session could not be saved: %1
The clearing can go on; call IT support if this happens again.</source>
        <translation>会话未能保存：%1
清机可以继续；如再次发生，请联系科技支持。</translation>
    </message>
    <message>
        <source>Leave the clearing?</source>
        <translation>离开清机？</translation>
    </message>
    <message>
        <source>The clearing stays open and is offered for resumption when the application starts again. To give it up instead, use Abandon.</source>
        <translation>清机保持未完成状态，下次启动程序时可以继续。如要放弃本次清机，请使用“放弃清机”。</translation>
    </message>
    <message>
        <source>Abandon the clearing</source>
        <translation>放弃清机</translation>
    </message>
    <message>
        <source>Why is this clearing abandoned? (recorded in the session)</source>
        <translation>为什么放弃本次清机？（将记录在会话中）</translation>
    </message>
    <message>
        <source>The backend&apos;s ledger</source>
        <translation>后台账务</translation>
    </message>
    <message>
        <source>The bank backend&apos;s books for the same cycle.</source>
        <translation>银行后台同一周期的账务。</translation>
    </message>
    <message>
        <source>&amp;Fetch from the backend</source>
        <translation>从后台获取(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>取消(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Import a settlement file…</source>
        <translation>导入结算文件(&amp;I)…</translation>
    </message>
    <message>
        <source>Backend: %1</source>
        <translation>后台：%1</translation>
    </message>
    <message>
        <source>(not configured: set it in Settings, or import a settlement file)</source>
        <translation>（未配置：请在设置中填写，或导入结算文件）</translation>
    </message>
    <message>
        <source>No backend address is set. Set it in Settings, or import a settlement file.</source>
        <translation>未设置后台地址。请在设置中填写，或导入结算文件。</translation>
    </message>
    <message>
        <source>Fetching the backend&apos;s ledger for %1…</source>
        <translation>正在获取 %1 的后台账务…</translation>
    </message>
    <message>
        <source>Import a settlement file</source>
        <translation>导入结算文件</translation>
    </message>
    <message>
        <source>Settlement files (*.json *.csv *.txt);;All files (*)</source>
        <translation>结算文件 (*.json *.csv *.txt);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Importing %1…</source>
        <translation>正在导入 %1…</translation>
    </message>
    <message>
        <source>Fetching the backend&apos;s ledger: %1 KiB received…</source>
        <translation>正在获取后台账务：已接收 %1 KiB…</translation>
    </message>
    <message>
        <source>the backend</source>
        <translation>后台</translation>
    </message>
    <message>
        <source>a settlement file</source>
        <translation>结算文件</translation>
    </message>
    <message>
        <source>The backend&apos;s ledger is here (from %1): %2 records.</source>
        <translation>已取得后台账务（来自%1）：%2 条记录。</translation>
    </message>
    <message>
        <source>Loading amount %1 · withdrawals %2 (%3) · deposits %4 (%5)</source>
        <translation>加钞金额 %1 · 取款 %2 笔（%3）· 存款 %4 笔（%5）</translation>
    </message>
    <message>
        <source>Cancelled. Press Fetch to try again.</source>
        <translation>已取消。按“从后台获取”重试。</translation>
    </message>
    <message>
        <source>Press Fetch to try again, or Import a settlement file the backend office sent you.</source>
        <translation>请按“从后台获取”重试，或导入后台部门发来的结算文件。</translation>
    </message>
    <message>
        <source>The supervisor must not be one of the custodians.</source>
        <translation>主管不能是两名管机员之一。</translation>
    </message>
    <message>
        <source>%1: user name</source>
        <translation>%1：用户名</translation>
    </message>
    <message>
        <source>%1: password</source>
        <translation>%1：密码</translation>
    </message>
    <message>
        <source>The ATM on %1 does not answer.</source>
        <translation>%1 上的 ATM 没有应答。</translation>
    </message>
    <message>
        <source>Check that: the cable is plugged in at both ends; the ATM is in maintenance (supervisor) mode; the right port is chosen (unplug and replug the cable and press Refresh to see which one appears); the line speed matches the ATM&apos;s setting (usually 115200). Then press Connect again.</source>
        <translation>请检查：数据线两端已插好；ATM 处于维护（管理员）模式；选择了正确的端口（拔插数据线后按“刷新”查看新出现的端口）；波特率与 ATM 设置一致（通常为 115200）。然后再按“连接”。</translation>
    </message>
    <message>
        <source>Connect to the ATM</source>
        <translation>连接 ATM</translation>
    </message>
    <message>
        <source>Plug the cable into the ATM&apos;s maintenance port and choose the port, or read the ATM&apos;s journal files from a USB stick.</source>
        <translation>将数据线插入 ATM 维护口并选择端口，或从 U 盘读取 ATM 电子日志文件。</translation>
    </message>
    <message>
        <source>The ATM on the serial p&amp;ort (its maintenance port)</source>
        <translation>通过串口连接 ATM（维护端口）(&amp;O)</translation>
    </message>
    <message>
        <source>The ATM&apos;s &amp;journal files, from a USB stick or folder (no cable needed)</source>
        <translation>读取 ATM 电子日志文件，来自 U 盘或文件夹（无需连接线）(&amp;J)</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>刷新(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Port</source>
        <translation>端口(&amp;P)</translation>
    </message>
    <message>
        <source>Line &amp;speed</source>
        <translation>波特率(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Connect</source>
        <translation>连接(&amp;C)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Before connecting&lt;/b&gt;&lt;ol&gt;&lt;li&gt;Put the ATM in maintenance (supervisor) mode.&lt;/li&gt;&lt;li&gt;Plug the cable into the ATM&apos;s maintenance port and into this PC.&lt;/li&gt;&lt;li&gt;Choose the port: press Refresh, and the one that appears when the cable is plugged in is the ATM&apos;s.&lt;/li&gt;&lt;li&gt;The line speed is the ATM&apos;s setting, usually 115200.&lt;/li&gt;&lt;/ol&gt;</source>
        <translation>&lt;b&gt;连接之前&lt;/b&gt;&lt;ol&gt;&lt;li&gt;将 ATM 置于维护（主管）模式。&lt;/li&gt;&lt;li&gt;将数据线一端插入 ATM 维护口，另一端插入本机。&lt;/li&gt;&lt;li&gt;选择端口：按“刷新”，插上数据线后新出现的端口即为 ATM 的端口。&lt;/li&gt;&lt;li&gt;波特率为 ATM 的设置值，通常为 115200。&lt;/li&gt;&lt;/ol&gt;</translation>
    </message>
    <message>
        <source>Press Next, then choose the USB stick or folder with the ATM&apos;s journal files.</source>
        <translation>请按“下一步”，然后选择存有 ATM 电子日志文件的 U 盘或文件夹。</translation>
    </message>
    <message>
        <source>No serial port found. Plug in the cable and press Refresh.</source>
        <translation>未找到串口。请插好数据线后按“刷新”。</translation>
    </message>
    <message>
        <source>Choose the port the ATM&apos;s cable is plugged into.</source>
        <translation>请选择 ATM 数据线所连接的端口。</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
    <message>
        <source>Terminal: %1
Cycle: %2 (%3), opened %4
Transactions: %5 · banknote records: %6
Line speed: %7 bit/s · safe door: %8</source>
        <translation>终端：%1
周期：%2（%3），开始于 %4
交易：%5 笔 · 冠字号记录：%6 条
波特率：%7 bit/s · 保险柜门：%8</translation>
    </message>
    <message>
        <source>The ATM answered. Opening the clearing session…</source>
        <translation>ATM 已应答。正在开启清机会话…</translation>
    </message>
    <message>
        <source>The ATM answered. Press Next to read its ledger.</source>
        <translation>ATM 已应答。请按“下一步”读取账务。</translation>
    </message>
    <message>
        <source>Count the cash</source>
        <translation>清点现金</translation>
    </message>
    <message>
        <source>S&amp;kip the count (a reason is required)</source>
        <translation>跳过清点（须填写原因）(&amp;K)</translation>
    </message>
    <message>
        <source>Why the cash was not counted</source>
        <translation>未清点现金的原因</translation>
    </message>
    <message>
        <source>Why was the cash not counted?</source>
        <translation>为什么没有清点现金？</translation>
    </message>
    <message>
        <source>Counted</source>
        <translation>清点</translation>
    </message>
    <message>
        <source>Difference</source>
        <translation>差额</translation>
    </message>
    <message>
        <source>Counted cash in %1</source>
        <translation>%1 清点金额</translation>
    </message>
    <message>
        <source>mixed bin</source>
        <translation>混合钞箱</translation>
    </message>
    <message>
        <source>Count each unit bundle by bundle: type the number of notes (the amount follows), or the amount in yuan. Retract and reject bins hold mixed notes: type the notes of each denomination.</source>
        <translation>请逐把清点每个钞箱：输入张数（金额自动算出），或直接输入金额（元）。回收箱和废钞箱内为混合面额：请按面额分别输入张数。</translation>
    </message>
    <message>
        <source>By its counters</source>
        <translation>按计数器应有</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>张数</translation>
    </message>
    <message>
        <source>Notes counted in %1 (%2 each)</source>
        <translation>%1 清点张数（每张 %2）</translation>
    </message>
    <message>
        <source>× %1</source>
        <translation>× %1</translation>
    </message>
    <message>
        <source>by denomination:</source>
        <translation>按面额：</translation>
    </message>
    <message>
        <source>%1: notes of %2</source>
        <translation>%1：%2 元面额的张数</translation>
    </message>
    <message>
        <source>waiting for the banknote records</source>
        <translation>等待冠字号记录</translation>
    </message>
    <message>
        <source>Not a number of notes in %1: type whole notes like 120.</source>
        <translation>%1 的张数无效：请输入整数张数，如 120。</translation>
    </message>
    <message>
        <source>Counted in total: %1. By the units&apos; counters the ATM should hold %2.</source>
        <translation>清点合计：%1。按钞箱计数器，ATM 应有 %2。</translation>
    </message>
    <message>
        <source>Counted in total: %1. By the units&apos; counters the cassettes should hold %2 (the mixed bins follow once the banknote records are read).</source>
        <translation>清点合计：%1。按钞箱计数器，钞箱应有 %2（混合面额钞箱待冠字号记录读完后计入）。</translation>
    </message>
    <message>
        <source>The count is skipped; the reason is recorded in the session.</source>
        <translation>已跳过清点；原因已记录在会话中。</translation>
    </message>
    <message>
        <source>Say why the cash was not counted.</source>
        <translation>请说明为什么没有清点现金。</translation>
    </message>
    <message>
        <source>All units counted. Press Next.</source>
        <translation>所有钞箱已清点。请按“下一步”。</translation>
    </message>
    <message>
        <source>Not an amount in %1: type yuan like 1500 or 1500.50.</source>
        <translation>%1 中不是有效金额：请按元录入，例如 1500 或 1500.50。</translation>
    </message>
    <message>
        <source>Enter the counted cash for every unit (0 for an empty one).</source>
        <translation>请录入每个钞箱的清点金额（空箱填 0）。</translation>
    </message>
    <message>
        <source>Load cash and start the next cycle</source>
        <translation>加钞并开始新周期</translation>
    </message>
    <message>
        <source>Enter the notes loaded into each cassette; the ATM then starts its next cycle.</source>
        <translation>录入每个钞箱装入的张数；随后 ATM 开始新周期。</translation>
    </message>
    <message>
        <source>&amp;Send to the ATM and start the new cycle</source>
        <translation>发送到 ATM 并开始新周期(&amp;S)</translation>
    </message>
    <message>
        <source>Cassette</source>
        <translation>钞箱</translation>
    </message>
    <message>
        <source>Notes loaded</source>
        <translation>装入张数</translation>
    </message>
    <message>
        <source>Notes loaded into %1</source>
        <translation>%1 装入张数</translation>
    </message>
    <message>
        <source>emptied</source>
        <translation>已清空</translation>
    </message>
    <message>
        <source>Loading amount of the next cycle: %1</source>
        <translation>新周期加钞金额：%1</translation>
    </message>
    <message>
        <source>Sending the exchange to the ATM…</source>
        <translation>正在向 ATM 发送加钞数据…</translation>
    </message>
    <message>
        <source>The ATM started cycle %1. Press Finish to close the session.</source>
        <translation>ATM 已开始周期 %1。请按“完成”结束会话。</translation>
    </message>
    <message>
        <source>Check the cable and that the ATM is in maintenance mode, then press the button again.</source>
        <translation>请检查数据线以及 ATM 是否处于维护模式，然后再按一次按钮。</translation>
    </message>
    <message>
        <source>Read the ATM</source>
        <translation>读取 ATM</translation>
    </message>
    <message>
        <source>The ATM&apos;s ledger for this cycle is read over the maintenance port.</source>
        <translation>通过维护口读取 ATM 本周期的账务。</translation>
    </message>
    <message>
        <source>&amp;Read ledger</source>
        <translation>读取账务(&amp;R)</translation>
    </message>
    <message>
        <source>Choose the USB stick or folder with the ATM&apos;s journal files</source>
        <translation>请选择存有 ATM 电子日志文件的 U 盘或文件夹</translation>
    </message>
    <message>
        <source>The folder with the ATM&apos;s journal files</source>
        <translation>存有 ATM 电子日志文件的文件夹</translation>
    </message>
    <message>
        <source>Choose the &amp;folder…</source>
        <translation>选择文件夹(&amp;F)…</translation>
    </message>
    <message>
        <source>Fol&amp;der</source>
        <translation>文件夹(&amp;D)</translation>
    </message>
    <message>
        <source>Journal files to read, in order (untick one to leave it out)</source>
        <translation>要读取的电子日志文件，按顺序（取消勾选即不读取）</translation>
    </message>
    <message>
        <source>&amp;Journal files</source>
        <translation>电子日志文件(&amp;J)</translation>
    </message>
    <message>
        <source>none found: the ledger is read without banknote records</source>
        <translation>未找到：流水将不含冠字号记录</translation>
    </message>
    <message>
        <source>The folder with the FSN banknote files</source>
        <translation>存有冠字号（FSN）文件的文件夹</translation>
    </message>
    <message>
        <source>Choose the FSN f&amp;older…</source>
        <translation>选择冠字号（FSN）文件夹(&amp;O)…</translation>
    </message>
    <message>
        <source>FSN folder</source>
        <translation>冠字号（FSN）文件夹</translation>
    </message>
    <message>
        <source>The journal&apos;s layout (the ATM&apos;s vendor)</source>
        <translation>电子日志格式（ATM 厂商）</translation>
    </message>
    <message>
        <source>Journal &amp;layout</source>
        <translation>日志格式(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Read the journals</source>
        <translation>读取电子日志(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Cancel reading</source>
        <translation>取消读取(&amp;C)</translation>
    </message>
    <message>
        <source>Journal lines that match no rule of the layout</source>
        <translation>与日志格式的任何规则都不匹配的日志行</translation>
    </message>
    <message>
        <source>Accept these gaps &amp;knowingly (they are listed in the report)</source>
        <translation>知悉并接受这些未识别的行（将列入清机报告）(&amp;K)</translation>
    </message>
    <message>
        <source>%1 journal line(s) match no rule of the layout %2. Check that the layout is the ATM&apos;s; if it is, tick the box to read the journals without those lines, or ask IT to add a rule for them.</source>
        <translation>有 %1 行日志与格式 %2 的任何规则都不匹配。请确认所选格式与该 ATM 相符；如相符，可勾选下方选项跳过这些行读取，或请科技部门为这些行补充规则。</translation>
    </message>
    <message>
        <source>… and %1 more</source>
        <translation>……另有 %1 行</translation>
    </message>
    <message>
        <source>Cassettes and bins read from the ATM</source>
        <translation>从 ATM 读取的钞箱</translation>
    </message>
    <message>
        <source>The ATM&apos;s ledger for this cycle is read from its journal files: choose the USB stick or folder holding them.</source>
        <translation>从 ATM 的电子日志文件读取本周期流水：请选择存有这些文件的 U 盘或文件夹。</translation>
    </message>
    <message>
        <source>Reading the ATM&apos;s ledger…</source>
        <translation>正在读取 ATM 账务…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <source>%1 of %2 records, %3 KiB</source>
        <translation>%1 / %2 条记录，%3 KiB</translation>
    </message>
    <message>
        <source>about %1 s left</source>
        <translation>约剩 %1 秒</translation>
    </message>
    <message>
        <source>The %1 transactions of cycle %2 are in: press Next to count the cash. The banknote records are still being read; the reconciliation waits for them.</source>
        <translation>周期 %2 的 %1 笔交易已读入：请按“下一步”清点现金。钞票冠字号记录仍在读取中，对账将等待其读完。</translation>
    </message>
    <message>
        <source>%1 records read.</source>
        <translation>已读取 %1 条记录。</translation>
    </message>
    <message>
        <source>Read %1 transactions and %2 banknote records of cycle %3.</source>
        <translation>已读取周期 %3 的 %1 笔交易和 %2 条冠字号记录。</translation>
    </message>
    <message>
        <source>the read was cancelled</source>
        <translation>读取已取消</translation>
    </message>
    <message>
        <source>Reading was cancelled. Press Read ledger to start again.</source>
        <translation>读取已取消。按“读取账务”重新开始。</translation>
    </message>
    <message>
        <source>Check the cable and that the ATM is still in maintenance mode, then press Read ledger to try again (or Back to connect on another port).</source>
        <translation>请检查数据线以及 ATM 是否仍处于维护模式，然后按“读取账务”重试（或按“上一步”换一个端口连接）。</translation>
    </message>
    <message>
        <source>Plug in the USB stick with the ATM&apos;s journal files and choose its folder.</source>
        <translation>请插入存有 ATM 电子日志文件的 U 盘，并选择其文件夹。</translation>
    </message>
    <message>
        <source>Looking for journal files in %1…</source>
        <translation>正在 %1 中查找电子日志文件…</translation>
    </message>
    <message>
        <source>No journal file in %1 (files ending .txt, .jrn, .log or .ej): choose the folder the ATM wrote its journal into.</source>
        <translation>%1 中没有电子日志文件（扩展名为 .txt、.jrn、.log 或 .ej）：请选择 ATM 写入电子日志的文件夹。</translation>
    </message>
    <message>
        <source>Found %1 journal file(s). Check the journal layout, then press Read the journals.</source>
        <translation>找到 %1 个电子日志文件。请确认日志格式，然后按“读取电子日志”。</translation>
    </message>
    <message>
        <source>The folder %1 cannot be read (%2): check the USB stick, then choose the folder again.</source>
        <translation>无法读取文件夹 %1（%2）：请检查 U 盘后重新选择文件夹。</translation>
    </message>
    <message>
        <source>Reading the ATM&apos;s journal files…</source>
        <translation>正在读取 ATM 电子日志文件…</translation>
    </message>
    <message>
        <source>%1 of %2 KiB read</source>
        <translation>已读取 %1 / %2 KiB</translation>
    </message>
    <message>
        <source>%1 journal line(s) were accepted as gaps; the report lists them.</source>
        <translation>已接受 %1 行未识别的日志行；清机报告将列出这些行。</translation>
    </message>
    <message>
        <source>%1 banknote record(s) could not be tied to a transaction by their time.</source>
        <translation>有 %1 条冠字号记录无法按时间对应到交易。</translation>
    </message>
    <message>
        <source>Reading was cancelled. Press Read the journals to start again.</source>
        <translation>已取消读取。请按“读取电子日志”重新开始。</translation>
    </message>
    <message>
        <source>Some journal lines match no rule of the layout %1: see the list below.</source>
        <translation>部分日志行与格式 %1 的规则不匹配：见下方列表。</translation>
    </message>
    <message>
        <source>The journal files cannot be read as the layout %1: %2
Check that the layout is the ATM&apos;s and the files are complete, or ask IT support.</source>
        <translation>无法按格式 %1 读取电子日志文件：%2
请确认格式与该 ATM 相符且文件完整，或联系科技部门。</translation>
    </message>
    <message>
        <source>overage (长款)</source>
        <translation>长款</translation>
    </message>
    <message>
        <source>shortage (短款)</source>
        <translation>短款</translation>
    </message>
    <message>
        <source>no difference</source>
        <translation>无差额</translation>
    </message>
    <message>
        <source>Cash the ATM should hold by its transactions (loaded + deposits − withdrawals): %1 · by the backend&apos;s books: %2 · difference %3: %4</source>
        <translation>按 ATM 交易应有现金（加钞 + 存款 − 取款）：%1 · 按后台账务：%2 · 差额 %3：%4</translation>
    </message>
    <message>
        <source>Counted: %1 (against the ATM %2, against the backend %3)</source>
        <translation>清点：%1（与 ATM 相差 %2，与后台相差 %3）</translation>
    </message>
    <message>
        <source>Reconcile</source>
        <translation>对账</translation>
    </message>
    <message>
        <source>Totals first, then details; the ATM side is the reference. Press Next to confirm you have reviewed the list.</source>
        <translation>先核总账，再核明细；以 ATM 为准。按“下一步”确认已审阅列表。</translation>
    </message>
    <message>
        <source>Totals: the ATM against the backend</source>
        <translation>合计：ATM 与后台对照</translation>
    </message>
    <message>
        <source>Filter: TSN, amount, action…</source>
        <translation>筛选：流水号、金额、处理办法…</translation>
    </message>
    <message>
        <source>&amp;Filter</source>
        <translation>筛选(&amp;F)</translation>
    </message>
    <message>
        <source>Mismatch list</source>
        <translation>不符账目列表</translation>
    </message>
    <message>
        <source>Banknote serials of the selected item</source>
        <translation>所选账目的冠字号</translation>
    </message>
    <message>
        <source>The custodians&apos; remark on this item</source>
        <translation>管机员对此项的备注</translation>
    </message>
    <message>
        <source>&amp;Remark</source>
        <translation>备注(&amp;R)</translation>
    </message>
    <message>
        <source>Waiting for the banknote records from the ATM… The reconciliation starts as soon as they are all in.</source>
        <translation>正在等待 ATM 的钞票冠字号记录…… 全部读入后即开始对账。</translation>
    </message>
    <message>
        <source>Reconciling…</source>
        <translation>正在对账…</translation>
    </message>
    <message>
        <source>All categories</source>
        <translation>全部类别</translation>
    </message>
    <message>
        <source>Balanced: the ATM and the backend agree. Press Next.</source>
        <translation>账账相符：ATM 与后台一致。请按“下一步”。</translation>
    </message>
    <message>
        <source>1 mismatch. Review it (select it to see its banknotes, add a remark), then press Next.</source>
        <translation>1 笔不符。请审阅（选中可查看冠字号、添加备注），然后按“下一步”。</translation>
    </message>
    <message>
        <source>%1 mismatches. Review each item (select it to see its banknotes, add a remark), then press Next.</source>
        <translation>%1 笔不符。请逐项审阅（选中可查看冠字号、添加备注），然后按“下一步”。</translation>
    </message>
    <message>
        <source>TSN %1</source>
        <translation>流水号 %1</translation>
    </message>
    <message>
        <source>Backend references: %1</source>
        <translation>后台参考号：%1</translation>
    </message>
    <message>
        <source>Side: %1, item: %2</source>
        <translation>一方：%1，项目：%2</translation>
    </message>
    <message>
        <source>Cash effect: %1</source>
        <translation>现金影响：%1</translation>
    </message>
    <message>
        <source>Check the report; the supervisor signs in to sign it off. Print and save it.</source>
        <translation>核对报告；主管登录签字确认。打印并保存报告。</translation>
    </message>
    <message>
        <source>Supervisor sign-off</source>
        <translation>主管签字</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <source>Sign &amp;off</source>
        <translation>签字确认(&amp;O)</translation>
    </message>
    <message>
        <source>Sa&amp;ve as PDF…</source>
        <translation>另存为 PDF(&amp;V)…</translation>
    </message>
    <message>
        <source>Building the report…</source>
        <translation>正在生成报告…</translation>
    </message>
    <message>
        <source>Signed off by %1. Print the report, then press Next to load the cash for the next cycle.</source>
        <translation>已由 %1 签字确认。请打印报告，然后按“下一步”为新周期加钞。</translation>
    </message>
    <message>
        <source>Draft report (%1 pages). The supervisor signs it off.</source>
        <translation>报告草稿（%1 页）。须由主管签字确认。</translation>
    </message>
    <message>
        <source>The supervisor enters their user name and password.</source>
        <translation>请主管输入用户名和密码。</translation>
    </message>
    <message>
        <source>Checking the supervisor&apos;s password…</source>
        <translation>正在核对主管密码…</translation>
    </message>
    <message>
        <source>Save the report</source>
        <translation>保存报告</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>已保存到 %1</translation>
    </message>
    <message>
        <source>Sign in: two custodians</source>
        <translation>登录：两名管机员</translation>
    </message>
    <message>
        <source>Dual custody: each custodian signs in with their own password.</source>
        <translation>双人清机：每位管机员用自己的密码登录。</translation>
    </message>
    <message>
        <source>Custodian %1</source>
        <translation>管机员 %1</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation>登录(&amp;S)</translation>
    </message>
    <message>
        <source>&lt;b&gt;Dual custody&lt;/b&gt;&lt;ul&gt;&lt;li&gt;Two custodians clear an ATM together; each signs in with their own password.&lt;/li&gt;&lt;li&gt;Both stay until the report is signed off; the supervisor who signs it is a third person.&lt;/li&gt;&lt;li&gt;After repeated wrong passwords an account is locked for a while: ask an administrator to unlock it.&lt;/li&gt;&lt;/ul&gt;</source>
        <translation>&lt;b&gt;双人管机&lt;/b&gt;&lt;ul&gt;&lt;li&gt;两名管机员共同清机，各自用自己的密码登录。&lt;/li&gt;&lt;li&gt;两人须在场直至报告签核；签核的主管须为第三人。&lt;/li&gt;&lt;li&gt;多次输错密码后账户会被暂时锁定：请管理员解锁。&lt;/li&gt;&lt;/ul&gt;</translation>
    </message>
    <message>
        <source>Resuming the interrupted clearing of %1 and %2: both sign in again.</source>
        <translation>继续 %1 和 %2 中断的清机：两人须重新登录。</translation>
    </message>
    <message>
        <source>Both custodians enter their user name and password.</source>
        <translation>请两位管机员输入用户名和密码。</translation>
    </message>
    <message>
        <source>The two custodians must be different people: dual custody needs a second custodian.</source>
        <translation>两名管机员必须是不同的人：双人清机需要第二位管机员。</translation>
    </message>
    <message>
        <source>Checking passwords…</source>
        <translation>正在核对密码…</translation>
    </message>
    <message>
        <source>Signed in: %1 and %2. Press Next.</source>
        <translation>已登录：%1 和 %2。请按“下一步”。</translation>
    </message>
    <message>
        <source>Safe door opened at %1</source>
        <translation>安全门已打开（%1）</translation>
    </message>
    <message>
        <source>Safe door closed at %1</source>
        <translation>安全门已关闭（%1）</translation>
    </message>
    <message>
        <source>The ATM opened cycle %1 at %2</source>
        <translation>ATM 已开启新周期 %1（%2）</translation>
    </message>
    <message>
        <source>The ATM reported %1 (%2) at %3</source>
        <translation>ATM 报告 %1（%2），时间 %3</translation>
    </message>
    <message>
        <source>The ATM</source>
        <translation>ATM</translation>
    </message>
    <message>
        <source>Read a&amp;gain</source>
        <translation>重新读取(&amp;G)</translation>
    </message>
    <message>
        <source>Reported by the ATM:</source>
        <translation>ATM 报告的事件：</translation>
    </message>
    <message>
        <source>Reported by the ATM</source>
        <translation>ATM 报告的事件</translation>
    </message>
    <message>
        <source>The ledger has not been read yet.</source>
        <translation>尚未读取流水。</translation>
    </message>
    <message>
        <source>Reading the ledger…</source>
        <translation>正在读取流水……</translation>
    </message>
    <message>
        <source>%1 of %2 records</source>
        <translation>%1 / %2 条记录</translation>
    </message>
    <message>
        <source>Transactions in: count the cash now. Banknote records still being read…</source>
        <translation>交易已读入：现在可以清点现金。钞票冠字号记录仍在读取……</translation>
    </message>
    <message>
        <source>Ledger complete: %1 transactions, %2 banknote records.</source>
        <translation>流水已读完：%1 笔交易，%2 条冠字号记录。</translation>
    </message>
    <message>
        <source>Reading the banknote records failed: %1
Check the cable, then press Read again. The clearing cannot be reconciled without them.</source>
        <translation>读取钞票冠字号记录失败：%1
请检查线缆，然后按“重新读取”。没有这些记录无法对账。</translation>
    </message>
    <message>
        <source>The read failed: %1</source>
        <translation>读取失败：%1</translation>
    </message>
    <message>
        <source>Two custodians must sign in.</source>
        <translation>需要两名管机员登录。</translation>
    </message>
    <message>
        <source>The two custodians must be different people.</source>
        <translation>两名管机员必须是不同的人。</translation>
    </message>
    <message>
        <source>Connect to the ATM first.</source>
        <translation>请先连接 ATM。</translation>
    </message>
    <message>
        <source>Read the ATM&apos;s ledger first.</source>
        <translation>请先读取 ATM 账务。</translation>
    </message>
    <message>
        <source>Enter the counted cash for every unit, or skip counting with a reason.</source>
        <translation>请录入每个钞箱的清点金额，或填写原因后跳过清点。</translation>
    </message>
    <message>
        <source>Fetch the backend&apos;s ledger or import a settlement file.</source>
        <translation>请获取后台账务或导入结算文件。</translation>
    </message>
    <message>
        <source>The reconciliation has not been computed yet.</source>
        <translation>尚未完成对账。</translation>
    </message>
    <message>
        <source>Confirm the mismatch list first.</source>
        <translation>请先确认不符账目列表。</translation>
    </message>
    <message>
        <source>A supervisor must sign the report off.</source>
        <translation>需要主管签字确认报告。</translation>
    </message>
    <message>
        <source>Enter the cash loaded into every cassette.</source>
        <translation>请录入每个钞箱的加钞数量。</translation>
    </message>
    <message>
        <source>Start the new cycle on the ATM first.</source>
        <translation>请先在 ATM 上开始新周期。</translation>
    </message>
</context>
</TS>
