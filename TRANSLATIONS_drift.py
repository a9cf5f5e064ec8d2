T = {
    # federation/drift_service.py
    "In sync": "一致",
    "Drifted": "已漂移",
    "Missing in the member": "成员集群中缺失",
    "Not rendered yet": "尚未渲染",
    "Could not be read": "无法读取",
    "Drift is shown for Deployments and StatefulSets.": "仅对 Deployment 和 StatefulSet 显示漂移。",
    "Karmada refused the Work: %(message)s": "Karmada 拒绝读取 Work：%(message)s",
    "The member's object could not be read: %(message)s": "无法读取成员集群中的对象：%(message)s",
    "%(kind)s %(name)s is not placed on %(member)s.": "%(kind)s %(name)s 未调度到 %(member)s。",
    "Karmada has not rendered %(kind)s %(name)s for %(member)s yet: there is nothing to re-apply.":
        "Karmada 尚未为 %(member)s 渲染 %(kind)s %(name)s：没有可重新应用的内容。",
    # federation/drift_views.py
    "%(member)s holds %(name)s as Karmada rendered it again.": "%(member)s 中的 %(name)s 已恢复为 Karmada 渲染的内容。",
    "%(member)s was written, but its object still differs: %(fields)s.":
        "已写入 %(member)s，但其对象仍有差异：%(fields)s。",
    # templates/federation/drift.html and placement_body.html
    "Drift": "漂移",
    "Drift of %(namespace)s/%(name)s": "%(namespace)s/%(name)s 的漂移",
    "Back to the placement": "返回调度结果",
    "For each member cluster: the template in Karmada, the object Karmada rendered for that member after its "
    "overrides (its Work), and the object the member holds now. Status, server-managed metadata and Karmada’s own "
    "labels and annotations are not compared; fields the member’s API server fills in by default are not drift.":
        "对每个成员集群：Karmada 中的模板、Karmada 按差异化策略为该成员渲染的对象（即其分发对象），以及成员集群当前持有的对象。"
        "不比较状态、服务器管理的元数据以及 Karmada 自身的标签和注解；成员集群 API 服务器默认填充的字段不算漂移。",
    "No PropagationPolicy has claimed this workload, so no member holds it. Create a PropagationPolicy that selects "
    "it, then come back.": "没有 PropagationPolicy 认领此工作负载，因此没有成员集群持有它。请创建选中它的 PropagationPolicy 后再回来查看。",
    "The scheduler has not placed this workload on any member yet. Check its PropagationPolicy on the placement page.":
        "调度器尚未将此工作负载调度到任何成员集群。请在调度结果页面检查其 PropagationPolicy。",
    "At least one member holds something other than what Karmada rendered for it.":
        "至少有一个成员集群持有的对象与 Karmada 为其渲染的不一致。",
    "Every member holds what Karmada rendered for it.": "每个成员集群持有的对象都与 Karmada 为其渲染的一致。",
    "Work in Karmada": "Karmada 中的分发对象",
    "Dispatching to this member is suspended: Karmada does not correct it until the suspension is lifted.":
        "已暂停向此成员集群分发：在解除暂停之前 Karmada 不会纠正它。",
    "The member does not hold the object that Karmada rendered for it.": "成员集群中没有 Karmada 为其渲染的对象。",
    "Field": "字段",
    "Template": "模板",
    "Rendered for the member": "为成员渲染",
    "Live in the member": "成员集群中的实际值",
    "Difference": "差异",
    "absent": "无",
    "Override": "差异化",
    "The template, the rendered object and the member’s object agree.": "模板、渲染对象与成员集群中的对象一致。",
    "Re-sync": "重新同步",
    "Writes the rendered object into the member, replacing its changes (Karmada’s own labels, annotations and "
    "retained fields are kept).": "将渲染对象写入成员集群，覆盖其中的修改（保留 Karmada 自身的标签、注解和保留字段）。",
}
