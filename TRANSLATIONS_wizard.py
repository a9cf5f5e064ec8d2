# New msgids of branch h-wizard (#13 items 4, 6, 8) with their Simplified Chinese translations.
T = {
    "Configuration change": "配置变更",
    "CCE One Service Agreement": "天翼云分布式容器云平台服务协议",
    "CCE One Service Level Agreement": "天翼云分布式容器云平台服务等级协议",
    "Agreements": "协议",
    "A configuration change of the cluster is in progress: try again when it is done.":
        "集群正在进行配置变更，请在变更完成后重试。",
    "The cluster cannot be changed while it is %(status)s.": "集群处于“%(status)s”状态时不能变更。",
    "Change accepted": "变更已受理",
    "The cluster became %(status)s before the change was applied: nothing was changed.":
        "变更执行前集群已变为 %(status)s：未做任何变更。",
    "configuration change failed": "配置变更失败",
    "configuration change done": "配置变更完成",
    "Re-issue agent credentials": "重新签发 Agent 凭据",
    "Apply the new agent YAML within %(minutes)d minutes: then the old token stops working.":
        "请在 %(minutes)d 分钟内部署新的接入 YAML，之后旧令牌将失效。",
    "EIP binding": "绑定 EIP",
    "EIP unbinding": "解绑 EIP",
    "agent credentials re-issue": "重新签发 Agent 凭据",
    "No configuration change is in progress": "无进行中的配置变更",
    "The EIP is being bound: the cluster is changing until it is done.": "正在绑定 EIP：完成前集群处于变更中。",
    "The EIP is being unbound: the cluster is changing until it is done.": "正在解绑 EIP：完成前集群处于变更中。",
    "A new agent token is being issued (the cluster is changing until it is done). Apply the new agent YAML "
    "within %(minutes)d minutes: then the old token stops working.":
        "正在签发新的 Agent 令牌（完成前集群处于变更中）。请在 %(minutes)d 分钟内部署新的接入 YAML，之后旧令牌将失效。",
    "Change fleet": "变更舰队",
    "fleet change": "舰队变更",
    "The cluster joins this fleet once it is created and takes the fleet's permissions. You can also add it to "
    "a fleet later.": "集群创建完成后自动加入该舰队，并使用舰队的权限。也可以不指定，创建完成后再手动加入舰队。",
    "There is no fleet you may add clusters to: the cluster can be added to a fleet later.":
        "没有您可以添加集群的舰队：集群创建完成后可手动加入舰队。",
    "None: add it to a fleet later": "不指定：创建后再加入舰队",
    "Unknown fleet.": "舰队不存在。",
    "%(fleet)s (federation %(federation)s)": "%(fleet)s（联邦 %(federation)s）",
    "Cluster %(cluster)s is being changed: add it once that change is done.":
        "集群 %(cluster)s 正在变更中，请在变更完成后再添加。",
    "Join fleet": "加入舰队",
    "Cluster %(cluster)s is being changed: remove it once that change is done.":
        "集群 %(cluster)s 正在变更中，请在变更完成后再移除。",
    "A configuration change is in progress (see the <a href=\"%(operations_url)s\">operation log</a>). The "
    "cluster's other changes are available again when it is done.":
        "配置变更进行中（见<a href=\"%(operations_url)s\">操作日志</a>）。变更完成后才能对集群进行其他变更。",
    "I have read, understood and accept the <a href=\"%(service_url)s\" target=\"_blank\" rel=\"noopener\" "
    "id=\"agreement-service\">CCE One Service Agreement</a> and the <a href=\"%(sla_url)s\" target=\"_blank\" "
    "rel=\"noopener\" id=\"agreement-sla\">CCE One Service Level Agreement</a>.":
        "我已阅读、理解并接受<a href=\"%(service_url)s\" target=\"_blank\" rel=\"noopener\" "
        "id=\"agreement-service\">《天翼云分布式容器云平台服务协议》</a><a href=\"%(sla_url)s\" target=\"_blank\" "
        "rel=\"noopener\" id=\"agreement-sla\">《天翼云分布式容器云平台服务等级协议》</a>。",
}
