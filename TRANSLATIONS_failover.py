T = {
    # federation/models.py
    "changed at": "变化时间",
    "observed at": "观测时间",
    "member condition change": "成员状况变化",
    "member condition changes": "成员状况变化",
    "placement snapshot": "调度快照",
    "placement snapshots": "调度快照",
    # templates/federation/_header.html, failover.html, partials/failover_body.html
    "Failover": "故障迁移",
    "When a member cluster stops being Ready, Karmada taints it and moves its replicas to the healthy members. "
    "This page records each member's Ready condition over time and shows, for each federated workload, where its "
    "replicas were and where they are now.":
        "当成员集群不再就绪（Ready）时，Karmada 会为其添加污点，并将其上的副本迁移到健康的成员集群。"
        "本页记录每个成员集群的就绪状况随时间的变化，并显示每个联邦工作负载的副本原先所在和现在所在的位置。",
    # plural (ngettext): the singular msgid → the forms (zh_Hans has one)
    "Member %(names)s is not Ready: this page refreshes every %(seconds)s seconds while it is down.": (
        "成员集群 %(names)s 未就绪：在其恢复之前，本页每 %(seconds)s 秒刷新一次。",
    ),
    "Since": "起始时间",
    "Ready condition history": "就绪状况历史",
    "No change recorded yet.": "尚未记录到变化。",
    "This federation has no member clusters yet. Add clusters to its fleet on the overview page: once they have "
    "joined, their Ready history is recorded here.":
        "此联邦尚无成员集群。请在概览页为其舰队添加集群：集群加入后，其就绪历史将记录在此。",
    "Federated workloads: where the replicas were and where they are": "联邦工作负载：副本原先所在与现在所在",
    "Replicas moved": "副本已迁移",
    "Graceful eviction in progress": "正在优雅驱逐",
    "Before: as recorded at %(at)s.": "迁移前：%(at)s 记录的分布。",
    "Moved at %(at)s.": "迁移时间：%(at)s。",
    "Before: as Karmada's eviction tasks say (recorded here only since the move).":
        "迁移前：依据 Karmada 的驱逐任务（本页自迁移之后才开始记录）。",
    "Member Ready": "成员就绪",
    "Replicas before": "迁移前副本数",
    "Replicas now": "当前副本数",
    "Not placed on any member: no member fits its placement now.": "未调度到任何成员集群：当前没有成员集群符合其调度策略。",
    "Evicted from %(member)s (%(reason)s); members before the failover: %(before)s.":
        "已从 %(member)s 驱逐（%(reason)s）；故障迁移前的成员集群：%(before)s。",
    "Placement history": "调度历史",
    "nowhere": "无",
    "No federated workload yet. Once a Deployment or StatefulSet is propagated to the members, its placement and "
    "any failover show here.":
        "尚无联邦工作负载。Deployment 或 StatefulSet 分发到成员集群后，其调度结果及任何故障迁移将显示在此。",
}
