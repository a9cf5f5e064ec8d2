"""zh_Hans translations for issue #13 items 18-20 (helper "chinese"): msgid → msgstr, for the
lead to apply to locale/zh_Hans/LC_MESSAGES/django.po (new msgids, and existing ones that were
untranslated)."""
T = {
    # Audit log: what kind of object an event touched.
    "Account": "账号",
    "Delegation": "委托",
    "User group": "用户组",
    "Policy": "策略",
    "Kubernetes permission": "Kubernetes 权限",
    "Permission association": "权限关联",
    # Cluster overview: status history.
    "Previous status": "原状态",
    "New status": "新状态",
    # Status-change reasons (stored in English, shown translated).
    "agent heartbeat": "代理心跳",
    "no heartbeat for two windows": "连续两个周期未收到心跳",
    "agent credentials issued": "已签发代理凭证",
    "API server reached": "已连通 API Server",
    "no agent connected in time": "代理未在规定时间内接入",
    "unsubscribed": "已退订",
    "credentials revoked": "凭证已吊销",
    "arrears": "欠费",
    "balance restored": "余额已恢复",
    "sandbox restarted": "沙箱已重启",
    # Policies and enterprise projects.
    "System": "系统",
    "Custom": "自定义",
    "Default enterprise project": "默认企业项目",
}
T.update({
    # Was 「签发 Agent 凭证」: the console calls the agent 代理 everywhere else.
    "Issue agent credentials": "签发代理凭证",
})
