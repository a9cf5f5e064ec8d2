"""Chinese for the strings the ops branch added (issue #17: fleet trends, the log scan)."""
T = {
    # Score trends per fleet.
    "Per fleet": "按舰队",
    "Per cluster": "按集群",
    "Change": "变化",
    "Clusters inspected": "已巡检集群",
    "Last inspected": "最近巡检",
    "Its clusters": "其集群",
    "Per cluster of fleet %(name)s": "舰队 %(name)s 的各集群",
    "All clusters": "全部集群",
    "Inspections": "巡检次数",
    "A fleet's score is the mean of its clusters' latest inspection scores at each point; clusters not yet "
    "inspected are left out.": "舰队在每个时间点的得分为其各集群最近一次巡检得分的平均值；尚未巡检的集群不计入。",
    "No fleet has a completed inspection yet.": "尚无舰队完成过巡检。",
    # POD-LOG-ERRORS.
    "Container logs": "容器日志",
    "Open the log": "打开日志",
    "Cannot read the logs (RBAC): %(message)s": "无法读取日志（RBAC）：%(message)s",
    "Read the matching lines in context in the log viewer; the previous instance's log usually says why a "
    "restarted container stopped.": "在日志查看器中结合上下文阅读匹配的行；重启过的容器，其上一个实例的日志通常说明了它停止的原因。",
    "The previous instance of container %(container)s logged %(count)s lines matching error, exception or fail in "
    "its last %(lines)s lines": "容器 %(container)s 的上一个实例在最后 %(lines)s 行日志中有 %(count)s 行匹配 error、exception 或 fail",
    "Container %(container)s logged %(count)s lines matching error, exception or fail in its last %(lines)s lines":
        "容器 %(container)s 在最后 %(lines)s 行日志中有 %(count)s 行匹配 error、exception 或 fail",
}
