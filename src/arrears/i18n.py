"""Words the CLI prints, in English and Chinese. Code uses the English key; the user
chooses the language with ``--lang`` (default: from the locale)."""

from __future__ import annotations

import locale
import os

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (en, zh)
    "ageing_title": ("Ageing of the book on {as_of}", "{as_of} 账龄分布"),
    "bucket": ("Bucket", "账龄"),
    "dpd_range": ("DPD", "逾期天数"),
    "loans": ("Loans", "笔数"),
    "principal": ("Outstanding principal", "贷款余额"),
    "arrears": ("In arrears", "逾期金额"),
    "share_count": ("% count", "笔数占比"),
    "share_amount": ("% amount", "余额占比"),
    "total": ("Total", "合计"),
    "overdue_rate": ("Overdue rate (M1+)", "逾期率 (M1+)"),
    "by_count": ("by count", "按笔数"),
    "by_amount": ("by amount", "按金额"),
    "class_title": ("Five-tier classification", "五级分类"),
    "in_recovery": (
        "Charged off, in recovery (off the book, not in the table): {loans:,} loans, "
        "{owed:,.2f} owed in shadow balances",
        "已核销、清收中（表外，不计入上表）：{loans:,} 笔，表外余额 {owed:,.2f}",
    ),
    "class": ("Class", "分类"),
    "current": ("current", "正常"),
    "step_generate": ("Generating a synthetic portfolio", "生成模拟贷款组合"),
    "step_import": ("Importing {name}", "导入 {name}"),
    "step_close": ("Daily close", "日终批处理"),
    "demo_done": (
        "Demo finished in {seconds:.1f} s. Workspace: {root}",
        "演示完成，用时 {seconds:.1f} 秒。工作目录：{root}",
    ),
    "imported": (
        "{file}: {imported} rows imported, {skipped} already there, {rejected} rejected",
        "{file}：导入 {imported} 行，已存在 {skipped} 行，拒绝 {rejected} 行",
    ),
    "already_imported": ("{file}: already imported ({detail})", "{file}：已导入过（{detail}）"),
    "rejected": ("{file}: rejected, nothing was written", "{file}：已拒绝，未写入任何数据"),
    "rejects_file": ("Rejected rows written to {path}", "被拒绝的行已写入 {path}"),
    "closed": (
        "Closed through {as_of}: {loans} loans, {entries} postings, {payments} payments "
        "posted; cases: {opened} opened, {updated} updated, {closed} closed "
        "({cured} cured, {repaid} repaid, {written_off} written off, {recovered} recovered)",
        "已日终至 {as_of}：{loans} 笔贷款，{entries} 笔记账，入账还款 {payments} 笔；"
        "案件：新增 {opened}，更新 {updated}，结案 {closed}"
        "（转正常 {cured}，贷款结清 {repaid}，核销 {written_off}，核销后收回 {recovered}）",
    ),
    "charged_off": (
        "Charged off by the products' rules: {loans:,} loans (their cases stay open in recovery)",
        "按产品规则核销：{loans:,} 笔（案件转入核销后清收，继续催收）",
    ),
    "eod.take in": ("take in", "接收变更"),
    "eod.advance": ("advance", "推进账户"),
    "eod.post": ("post", "记账"),
    "eod.cases": ("cases", "案件"),
    "eod.publish": ("publish", "发布快照"),
    "eod.promises": ("promises", "承诺结算"),
    "eod.score": ("score", "评分"),
    "eod.treat": ("treat", "策略处置"),
    "eod.floor": ("collectors' calls", "催收员外呼"),
    "eod.allocate": ("allocation", "分案"),
    "eod.send": ("sends and print runs", "发送与打印"),
    "promises_settled": (
        "Promises: {kept} kept, {broken} broken, {pending} still pending",
        "承诺还款：兑现 {kept}，违约 {broken}，待到期 {pending}",
    ),
    "scored": (
        "Scored {days} day(s) through {as_of} with model {model} {version}: {loans} loans",
        "模型 {model} {version} 已评分 {days} 天至 {as_of}：{loans} 笔贷款",
    ),
    "score_psi": (
        "score PSI against the model's training rows: {psi} ({reading})",
        "评分 PSI（相对模型训练样本）：{psi}（{reading}）",
    ),
    "clause_break": ("; ", "；"),
    "score_shifted": (
        "Scores of {as_of} have shifted from the model's training rows (PSI {psi}, 0.25 or "
        "more): check the book and the model before the strategy relies on them",
        "{as_of} 的评分分布已偏离模型训练样本（PSI {psi}，不低于 0.25）："
        "请先核查客群与模型，再让策略依据该评分",
    ),
    "no_score_psi": (
        "no score PSI: the model was saved without its training scores' reference",
        "无评分 PSI：该模型保存时未记录训练样本评分的参照分布",
    ),
    "scores_written": ("{loans} scores written to {path}", "已写入 {loans} 笔评分：{path}"),
    "rows_shifted": (
        "Scores of {path} have shifted from the model's training rows (PSI {psi}, 0.25 or "
        "more): check the data and the model before relying on them",
        "{path} 的评分分布已偏离模型训练样本（PSI {psi}，不低于 0.25）：请先核查数据与模型，"
        "再使用该评分",
    ),
    "rows_scored": ("{rows} rows scored into {path}", "已评分 {rows} 行，写入 {path}"),
    "treatments_held": (
        "Treatments of {as_of} held: the strategy segments on the score of {model}, whose "
        "scores have shifted (PSI {psi}) and the settings hold such days; check the book "
        "and the model, then run `arrears treat --as-of {as_of} --accept-shifted-scores`",
        "{as_of} 的策略处置已暂停：策略依据模型 {model} 的评分分层，而该评分已偏移（PSI "
        "{psi}），按设置暂停此类日期；请核查客群与模型后运行 "
        "`arrears treat --as-of {as_of} --accept-shifted-scores`",
    ),
    "stable": ("stable", "稳定"),
    "some shift": ("some shift", "略有偏移"),
    "shifted": ("shifted", "已偏移"),
    "treated": (
        "Strategy {strategy} v{version}: {cases} case assignments, {proposed} actions proposed, "
        "{allowed} contacts allowed and queued, {blocked} blocked by compliance",
        "策略 {strategy} v{version}：分配案件 {cases} 次，建议动作 {proposed} 个，"
        "合规放行并入队 {allowed} 个，合规拦截 {blocked} 个",
    ),
    "blocked_title": ("Blocked by compliance, by rule", "合规拦截（按规则）"),
    "rule": ("Rule", "规则"),
    "attempts": ("Attempts", "次数"),
    "sent_title": ("Outbox after the demo's sends, by channel", "演示发送后的发件箱（按渠道）"),
    "channel": ("Channel", "渠道"),
    "step_treat": ("Strategies, compliance and sends", "策略、合规与发送"),
    "step_allocate": ("Allocating cases to the collectors' teams", "按账龄分案至催收组"),
    "floor_done": (
        "Collectors ({collectors} in {teams} teams): {calls} calls, {rpc} right-party contacts, "
        "{promises} promises to pay, {blocked} calls blocked by compliance; cases allocated "
        "at {allocations} cut-offs",
        "催收员（{teams} 个组共 {collectors} 人）：外呼 {calls} 次，本人接通 {rpc} 次，"
        "承诺还款 {promises} 笔，合规拦截外呼 {blocked} 次；分案 {allocations} 次",
    ),
    "floor_work": (
        "Work on the floor: {placements} cases placed with agencies ({agencies}), legal cases"
        " at lawyer letter {letters} and filing {filings} (tasks on /legal), {visits} field"
        " visits planned ({two} for two collectors), {callbacks} callbacks booked on open"
        " cases ({ahead} still ahead), {promises} promises pending",
        "场上工作：委外 {placements} 案（{agencies} 家机构），诉讼在律师函阶段 {letters} 案、"
        "立案阶段 {filings} 案（待办见 /legal），计划外访 {visits} 次（其中双人 {two} 次），"
        "在催案件约定回拨 {callbacks} 次（尚未到期 {ahead} 次），待兑现承诺 {promises} 笔",
    ),
    "kpi_targets": (
        "KPI targets per team written to kpi.toml (collected per collector): {targets}",
        "各组考核目标已写入 kpi.toml（每名催收员催回金额）：{targets}",
    ),
    "blocked_at_send": ("Blocked at send time: ", "发送时拦截："),
    "outbox.queued": ("queued", "待发送"),
    "outbox.sent": ("sent", "已发送"),
    "outbox.delivered": ("delivered", "已送达"),
    "outbox.failed": ("failed", "失败待重试"),
    "outbox.bounced": ("bounced", "被退回"),
    "outbox.dead": ("dead", "投递失败"),
    "outbox.blocked": ("blocked", "发送时拦截"),
    "outbox.sending": ("sending", "发送中"),
    "report_written": ("Portfolio report: {path}", "组合分析报告：{path}"),
    "already_closed": (
        "Already closed through {as_of}: nothing to do",
        "已日终至 {as_of}，无需处理",
    ),
    "no_snapshot": (
        "No snapshot for {as_of}; run `arrears close --as-of {as_of}` first",
        "没有 {as_of} 的快照；请先运行 `arrears close --as-of {as_of}`",
    ),
    "status_title": ("arrears workspace", "arrears 工作目录"),
    "contacts_note": (
        "{cases} open collection cases",
        "在催案件 {cases} 件",
    ),
}

CLASS_NAMES = {
    "normal": ("Normal", "正常"),
    "special_mention": ("Special mention", "关注"),
    "substandard": ("Substandard", "次级"),
    "doubtful": ("Doubtful", "可疑"),
    "loss": ("Loss", "损失"),
}


def default_lang() -> str:
    """'zh' when the locale is Chinese, else 'en'."""
    for var in ("ARREARS_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    code = locale.getlocale()[0] or ""
    return "zh" if code.lower().startswith("zh") else "en"


class Translator:
    def __init__(self, lang: str) -> None:
        # A locale name says the same: zh_CN, zh-CN.UTF-8 and en_US are zh, zh and en.
        base = lang.replace("-", "_").split("_")[0].split(".")[0].lower()
        if base not in ("en", "zh"):
            raise ValueError(f"unknown language {lang!r}: use en or zh (or zh_CN, en_US)")
        self.lang = base
        self.index = 0 if base == "en" else 1

    def __call__(self, key: str, **values: object) -> str:
        return MESSAGES[key][self.index].format(**values)

    def loan_class(self, value: str) -> str:
        return CLASS_NAMES[value][self.index]
