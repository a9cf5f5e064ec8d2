T = {
    "Promote": "纳管",
    "Promoted": "已纳管",
    "Already federated": "已在联邦中",
    "Failed": "失败",
    "Member cluster": "成员集群",
    "The member cluster whose objects the federation takes over.": "联邦将接管其对象的成员集群。",
    "Kinds": "资源类型",
    "Leave all unticked to promote every kind listed.": "全部不勾选则纳管所列的每种资源类型。",
    "Label selector": "标签选择器",
    "For example app=shop: the objects of one application.": "例如 app=shop：一个应用的全部对象。",
    "One object by name (choose its kind).": "按名称纳管单个对象（请选择其资源类型）。",
    "%(name)s is not a member cluster of this federation.": "%(name)s 不是此联邦的成员集群。",
    "Choose among the kinds that can be promoted.": "请从可纳管的资源类型中选择。",
    "Give one kind to promote an object by name.": "按名称纳管对象时请只选择一种资源类型。",
    "%(kind)s %(name)s already exists in the federation: edit its PropagationPolicy to place it on %(member)s.":
        "%(kind)s %(name)s 已存在于联邦中：请编辑其 PropagationPolicy 以将其调度到 %(member)s。",
    "The template was created but its PropagationPolicy %(policy)s was refused: %(message)s":
        "资源模板已创建，但其 PropagationPolicy %(policy)s 被拒绝：%(message)s",
    "Listing %(kinds)s in %(member)s failed: %(message)s": "列出 %(member)s 中的 %(kinds)s 失败：%(message)s",
    "Take over a member cluster's existing objects without restarting them: each becomes a resource template in "
    "the federation with a PropagationPolicy that places it on that member only and overwrites the member's copy "
    "with identical content, so its pods keep running.":
        "接管成员集群中已有的对象而不重启它们：每个对象成为联邦中的资源模板，并配有仅调度到该成员的 "
        "PropagationPolicy，以相同内容覆盖成员中的副本，因此其容器组持续运行。",
    "Objects of %(member)s in %(namespace)s": "%(member)s 中命名空间 %(namespace)s 的对象",
    "No object matched.": "没有匹配的对象。",
    "Kind": "类型",
    "Name": "名称",
    "Result": "结果",
    "PropagationPolicy": "PropagationPolicy",
    "Reason": "原因",
    "Karmada has not reported every promoted object applied to the member yet: the pods below were read before "
    "it did.": "Karmada 尚未报告所有已纳管对象都已应用到成员集群：以下容器组是在此之前读取的。",
    "Pods in the member, before and after": "成员集群中的容器组（纳管前后）",
    "Some pods differ from before the promotion.": "部分容器组与纳管前不同。",
    "Every pod kept its UID: nothing was restarted.": "每个容器组的 UID 均未改变：没有任何重启。",
    "Pod": "容器组",
    "UID before": "纳管前 UID",
    "UID after": "纳管后 UID",
    "Status": "状态",
    "Unchanged": "未改变",
    "Restarted": "已重启",
    "New": "新增",
    "Gone": "已消失",
    "No pods in this namespace.": "此命名空间中没有容器组。",
}
