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
T.update({
    # Empty states (#13 item 19).
    "No clusters match these filters.": "没有符合筛选条件的集群。",
    "Clear filters": "清除筛选条件",
    "There are no clusters in %(region)s.": "%(region)s 中没有集群。",
    "Your clusters may be in another region, or register one with Register cluster.":
        "您的集群可能在其他资源池中，也可以点击「注册集群」注册一个。",
    "Your clusters may be in another region.": "您的集群可能在其他资源池中。",
    "There are no clusters yet: register one with Register cluster.": "还没有集群：点击「注册集群」注册一个。",
    "There are no clusters you can see yet. Ask your administrator for access.":
        "暂无您可以查看的集群。请联系管理员为您授权。",
    "No fleets match these filters.": "没有符合筛选条件的容器舰队。",
    "There are no fleets yet. A fleet groups clusters so that permissions and, later, a federation apply to all "
    "of them.": "还没有容器舰队。容器舰队将多个集群组织在一起，权限（以及之后的集群联邦）会应用到其中的所有集群。",
    "There are no fleets you can see yet. Ask your administrator to create one or to give you access.":
        "暂无您可以查看的容器舰队。请联系管理员创建容器舰队或为您授权。",
    "Your sub-account has no policy yet, so the console shows you nothing to work with. Ask your administrator "
    "(the main account or an IAM administrator) to add you to a user group that has a policy.":
        "您的子账号还没有任何策略，因此控制台中没有可操作的内容。请联系管理员（主账号或 IAM 管理员）将您加入已授予策略的用户组。",
})
T.update({
    # Only usable buttons (#13 item 20): the reason beside a disabled control.
    "Your policies do not allow you to change this cluster's settings.": "您的策略不允许修改此集群的配置。",
})
T.update({
    # The operation step's new field (admin).
    "message parameters": "消息参数",
})
