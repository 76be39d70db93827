"""The words of the collections floor's pages (ranked queue, my promises, my callbacks,
the team's load, search and inbound calls), in English and Chinese: key -> (en, zh_CN),
merged into ``messages.MESSAGES``."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # the ranked queue and the lists
    "floor.tab.cases": ("My cases", "我的案件"),
    "floor.tab.team_cases": ("Team cases", "团队案件"),
    "floor.tab.promises": ("Promises", "承诺还款"),
    "floor.tab.callbacks": ("Callbacks", "约定回拨"),
    "floor.tab.load": ("Load per collector", "催收员工作量"),
    "floor.promises.title": ("My promises", "我的承诺还款"),
    "floor.callbacks.title": ("My callbacks", "我的回拨"),
    "floor.team_promises.title": ("Team promises", "团队承诺还款"),
    "floor.team_callbacks.title": ("Team callbacks", "团队回拨"),
    "floor.load.title": ("Load per collector", "催收员工作量"),
    "floor.promises.empty": (
        "No pending or recently broken promises.",
        "没有待兑现或近期违约的承诺。",
    ),
    "floor.callbacks.empty": ("No callbacks waiting.", "没有待回拨的客户。"),
    "floor.balance_overdue": ("Overdue", "逾期金额"),
    "floor.last_contact": ("Last contact", "最近联系"),
    "floor.never_contacted": ("never", "从未联系"),
    "floor.blocked_contact": ("blocked", "被拦截"),
    "floor.promise": ("Promise", "承诺"),
    "floor.callback": ("Callback", "回拨"),
    "floor.next_action": ("Next action", "下一步"),
    "floor.why": ("Why here", "排序依据"),
    "floor.unranked": ("past the ranked window: by amount", "超出排序窗口：按金额"),
    "floor.score": (
        "score {score} = risk {risk} × {amount}",
        "得分 {score} = 风险 {risk} × {amount}",
    ),
    "floor.score_default_risk": (
        "score {score} = {amount} × default risk {risk}",
        "得分 {score} = {amount} × 默认风险 {risk}",
    ),
    "floor.promise_row": ("{amount} due {due}", "{amount}，{due} 到期"),
    "floor.promise_status.pending": ("pending", "待兑现"),
    "floor.promise_status.broken": ("broken", "已违约"),
    "floor.callback_for": ("Call back at {when}", "约定 {when} 回拨"),
    "floor.callback_at": ("Call back at", "回拨时间"),
    "floor.callback_at_hint": ("(required for a callback)", "（约定回拨时必填）"),
    "field.callback_at": ("Call back at", "回拨时间"),
    # tiers: why a case is ranked where it is
    "floor.tier.promise_due_today": ("Promise due today", "承诺今日到期"),
    "floor.tier.promise_broken_yesterday": ("Promise broken yesterday", "承诺昨日违约"),
    "floor.tier.callback_due": ("Callback due", "回拨时间已到"),
    "floor.tier.contactable_now": ("Can be called now", "当前可拨打"),
    # next actions
    "floor.next.confirm_promise": ("Confirm today's payment", "确认今日还款"),
    "floor.next.chase_broken": ("Call about the broken promise", "就违约承诺致电"),
    "floor.next.call_back": ("Call back now", "立即回拨"),
    "floor.next.call_back_later": ("Call back at the agreed time", "按约定时间回拨"),
    "floor.next.await_promise": ("Wait for the promised payment", "等待承诺还款"),
    "floor.next.call": ("Call", "致电"),
    "floor.next.wait_blocked": ("Do not call now", "暂不可拨打"),
    # load per collector
    "floor.load.collector": ("Collector", "催收员"),
    "floor.load.open_cases": ("Open cases", "在催案件"),
    "floor.load.promises_due_today": ("Promises due today", "今日到期承诺"),
    "floor.load.promises_broken_yesterday": ("Broken yesterday", "昨日违约"),
    "floor.load.callbacks_due": ("Callbacks due", "待回拨"),
    "floor.load.callbacks_later": ("Callbacks later", "稍后回拨"),
    "floor.load.contacts_today": ("Contacts today", "今日联系"),
    "floor.load.cases": ("Cases", "案件"),
    "floor.load.empty": ("No active collectors in your scope.", "您的范围内没有在岗催收员。"),
    # search and inbound calls
    "floor.search.title": ("Search", "查询"),
    "floor.search.placeholder": (
        "Name, phone, ID number (last digits), loan or customer id",
        "姓名、电话、身份证号（后几位）、借据号或客户号",
    ),
    "floor.search.by": ("Search by", "查询方式"),
    "floor.search.by.any": ("Anything", "全部"),
    "floor.search.by.name": ("Name", "姓名"),
    "floor.search.by.phone": ("Phone", "电话"),
    "floor.search.by.id_number": ("ID number (last digits)", "身份证号（后几位）"),
    "floor.search.by.loan_id": ("Loan id", "借据号"),
    "floor.search.by.customer_id": ("Customer id", "客户号"),
    "floor.search.go": ("Search", "查询"),
    "floor.search.results": ("Cases found: {count}", "找到 {count} 个案件"),
    "floor.search.none": ("Nothing found in your cases.", "在您的案件中未找到。"),
    "floor.search.matched_by": ("Matched by", "匹配项"),
    "floor.search.mobile": ("Mobile", "手机"),
    "floor.search.id_number": ("ID number", "身份证号"),
    "floor.search.masked_hint": (
        "Numbers are masked; open the case and reveal with a reason (logged).",
        "号码已脱敏；如需查看完整号码，请打开案件并填写理由（留痕）。",
    ),
    "floor.search.placed": ("placed with an agency", "已委外"),
    "floor.case_status.open": ("open", "在催"),
    "floor.case_status.closed": ("closed", "已结案"),
    "floor.inbound.title": ("Inbound call", "呼入来电"),
    "floor.inbound.phone": ("Caller's number", "来电号码"),
    "floor.inbound.open": ("Find the caller", "查找来电客户"),
    "floor.inbound.pick": (
        "Several cases match this number: pick the caller's.",
        "该号码对应多个案件，请选择来电客户的案件。",
    ),
    "floor.inbound.none": (
        "No case of yours matches this number.",
        "您的案件中没有与该号码匹配的。",
    ),
    # the staff page: teams, users and agencies created by an admin (agencies also by a
    # manager)
    "nav.staff": ("Staff", "人员与机构"),
    "staff.title": ("Staff, teams and agencies", "人员、团队与委外机构"),
    "staff.teams": ("Teams", "团队"),
    "staff.team": ("Team", "团队"),
    "staff.members": ("Active members", "在岗成员"),
    "staff.users": ("Users", "用户"),
    "staff.agencies": ("Agencies", "委外机构"),
    "staff.active": ("Active", "启用"),
    "staff.create_team": ("Create the team", "创建团队"),
    "staff.create_user": ("Create a user", "创建用户"),
    "staff.create_agency": ("Create the agency", "创建委外机构"),
    "staff.lang.en": ("English", "英文"),
    "staff.lang.zh_CN": ("Chinese", "中文"),
    "staff.rate_hint": (
        "The commission rate paid on the chosen buckets (0.15 or 15%); the strategy's"
        " agency steps place a case only with an agency whose rates pay on it.",
        "所选账龄段的佣金比例（0.15 或 15%）；"
        "策略的委外步骤只会把案件委托给对该案件有佣金比例的机构。",
    ),
    "staff.password_hint": (
        "Leave the password empty for a random one, shown once. Collectors and team leads"
        " belong to a team, agency users to an agency.",
        "密码留空则生成随机密码，仅显示一次。"
        "催收员和组长须属于某个团队，委外机构用户须属于某个委外机构。",
    ),
    "staff.team_created": ("Team {name} created.", "团队 {name} 已创建。"),
    "staff.user_created": ("User {name} created.", "用户 {name} 已创建。"),
    "staff.user_created_password": (
        "User {name} created. Password (shown once): {password}",
        "用户 {name} 已创建。密码（仅显示一次）：{password}",
    ),
    "staff.agency_created": ("Agency {name} created.", "委外机构 {name} 已创建。"),
    "field.team_name": ("Team name", "团队名称"),
    "field.team_id": ("Team", "团队"),
    "field.display_name": ("Name", "姓名"),
    "field.agency_name": ("Agency name", "机构名称"),
    "field.approval_limit": ("Approval limit", "审批额度"),
    "field.password": ("Password", "密码"),
    "field.buckets": ("Buckets", "账龄段"),
    "field.rate": ("Commission rate", "佣金比例"),
    "refusal.team_required": (
        "A collector or team lead belongs to a team: choose one.",
        "催收员和组长须属于某个团队，请选择团队。",
    ),
    "refusal.rate": (
        "{field}: a share above 0 and at most 1 (0.15 or 15%).",
        "{field}：须大于 0 且不超过 1（如 0.15 或 15%）。",
    ),
    # the JSON API's own errors (web/api/errors.py), in the caller's language
    "api.not_logged_in": (
        "Not signed in: sign in first (POST /api/v1/auth/login).",
        "未登录：请先登录（POST /api/v1/auth/login）。",
    ),
    "api.method_not_allowed": (
        "This method is not allowed here.",
        "此处不允许该请求方法。",
    ),
    "api.invalid_fields": ("Not valid: {fields}.", "以下内容填写有误：{fields}。"),
    "api.store_refused": (
        "A value cannot be stored (a character or a number out of range).",
        "有数值无法保存（字符或数字超出范围）。",
    ),
    # the legal team's tasks (services/workbench/legal.tasks)
    "legal.tasks": ("Legal team's tasks", "法务待办"),
    "legal.tasks_hint": (
        "Open cases in litigation, the nearest deadline first: each stage's next step"
        " and the days it has from the stage's date.",
        "诉讼中的在催案件，按截止日期排序：每个阶段的下一步工作及自该阶段开始起的期限。",
    ),
    "legal.task": ("Task", "待办事项"),
    "legal.deadline": ("Deadline", "截止日期"),
    "legal.late": ("{days} days late", "已逾期 {days} 天"),
    "legal.due_today": ("due today", "今日到期"),
    "legal.days_left": ("{days} days left", "剩余 {days} 天"),
    "legal.by_strategy": ("(strategy)", "（策略）"),
    "legal.no_tasks": (
        "No case in litigation waits for the legal team.",
        "暂无待法务处理的诉讼案件。",
    ),
    "legal.tasks_capped": ("The first {count} tasks are shown.", "仅显示前 {count} 项待办。"),
    "legal.task.lawyer_letter": (
        "Follow up the debtor's answer to the lawyer letter; file if none",
        "跟进债务人对律师函的回应；无回应则准备立案",
    ),
    "legal.task.filing": (
        "File with the court: papers, court and case number",
        "向法院立案：准备材料，登记法院与案号",
    ),
    "legal.task.judgment": (
        "Appeal period: then apply for enforcement",
        "上诉期届满后申请强制执行",
    ),
    "legal.task.enforcement": ("Review the enforcement's progress", "跟进执行进展"),
    "legal.task.asset_preservation": (
        "File the suit before the preservation lapses",
        "在保全失效前提起诉讼",
    ),
    "legal.task.asset_disposal": ("Follow up the disposal", "跟进资产处置"),
}
