"""Msgids of the member join reasons now stored untranslated (federation/members.py) and shown
in the reader's language. All were in the catalogue already (as gettext calls); listed so the
integrator can check they stay there now that they are marked with gettext_noop."""
T = {
    "The cluster ID %(id)s or the cluster name %(name)s has been registered in the federation.":
        "集群 ID %(id)s 或集群名称 %(name)s 已在联邦中注册。",
    "Karmada is taking its workloads out of the member; it leaves then.":
        "Karmada 正在从该成员中移出其工作负载，完成后成员将移出。",
    "The member's Cluster object is missing in Karmada; retry the join.":
        "Karmada 中缺少该成员的 Cluster 对象，请重试接入。",
}
