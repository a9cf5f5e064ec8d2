"""New msgids of the "walk" helper with their Simplified Chinese translations."""
T = {
    "The federation had no namespace %(namespace)s: it was created first, with the member's labels.":
        "联邦中没有命名空间 %(namespace)s：已先按成员集群中的同名命名空间（含其标签）创建。",
}
