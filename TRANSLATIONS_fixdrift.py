"""New msgids of h-fixdrift with their Simplified Chinese translations (for the integrator)."""
T = {
    "%(member)s already holds %(name)s as Karmada rendered it: nothing was written.":
        "%(member)s 中的 %(name)s 已与 Karmada 渲染的一致：未写入任何内容。",
    "The federation had no namespace %(namespace)s: it was created first, with the member's labels, and "
    "Karmada gives it to every member.":
        "联邦中没有命名空间 %(namespace)s：已先按成员集群中的标签创建，Karmada 会将其下发到每个成员集群。",
}
