"""Chinese for the strings the migration wizard, a cluster's backup page and the retention
sweep added (issue #18); the integrator merges them into locale/zh_Hans."""
T = {
    "Migrate applications between clusters (back up, dry-run, restore)": "在集群间迁移应用（备份、演练、还原）",
    "2-40 characters: lowercase letters, digits and '-'.": "2-40 个字符：小写字母、数字和“-”。",
    "Source cluster": "源集群",
    "The backup made for the migration is kept here.": "迁移所做的备份保存在这里。",
    "Backing up the source": "正在备份源集群",
    "Dry run on the target": "在目标集群演练",
    "Awaiting confirmation": "等待确认",
    "Restoring into the target": "正在还原到目标集群",
    "Cancelled": "已取消",
    "source cluster": "源集群",
    "migration": "迁移",
    "migrations": "迁移",
    "Choose a target cluster other than the source.": "请选择与源集群不同的目标集群。",
    "A migration with this name exists.": "同名的迁移已存在。",
    "A backup named “%(name)s” exists: choose another name for the migration.":
        "名为“%(name)s”的备份已存在：请为迁移换一个名称。",
    "The migration's backup was deleted.": "该迁移的备份已被删除。",
    "The dry run could not start: %(reason)s": "演练无法开始：%(reason)s",
    "The backup of the source failed: %(reason)s": "源集群备份失败：%(reason)s",
    "The dry run on the target failed: %(reason)s": "目标集群上的演练失败：%(reason)s",
    "Migration “%(name)s” is not waiting for confirmation.": "迁移“%(name)s”不在等待确认。",
    "Only a migration waiting for confirmation can be cancelled.": "只有等待确认的迁移才能取消。",
    "Migrations": "迁移",
    "Migrate an application": "迁移应用",
    "There are no migrations yet. A migration backs up namespaces of one cluster, shows the dry run on another and, "
    "once you confirm, restores them there.":
        "还没有迁移。迁移会备份一个集群的命名空间，在另一个集群上展示演练结果，经您确认后还原到该集群。",
    "There are no migrations you can see yet.": "还没有您可查看的迁移。",
    "Back up the source": "备份源集群",
    "Review and confirm": "检查并确认",
    "Restore into the target": "还原到目标集群",
    "All backups": "全部备份",
    "Restores into this cluster": "还原到本集群",
    "No restores yet.": "还没有还原。",
    "No schedules yet.": "还没有备份策略。",
    "No migrations yet.": "还没有迁移。",
    "Migration “%(name)s”": "迁移“%(name)s”",
    "Back to migrations": "返回迁移列表",
    "Steps": "步骤",
    "%(counter)s object": ("%(counter)s 个对象",),
    "Check the dry run's diff and pre-flight below, then restore into the target, or stop here (the backup stays).":
        "请检查下方演练的差异和预检结果，然后还原到目标集群，或在此停止（备份会保留）。",
    "Stop this migration without restoring?": "停止此迁移且不还原？",
    "Stop here": "在此停止",
    "Done": "完成",
    "Your turn": "待您操作",
    "See the diff of every object": "查看每个对象的差异",
    "The chosen namespaces of the source cluster are backed up to the storage location.":
        "将源集群中所选的命名空间备份到存储位置。",
    "The backup is dry-run on the target: the diff and the pre-flight, nothing written.":
        "在目标集群上演练该备份：展示差异和预检结果，不写入任何内容。",
    "You review the dry run and confirm.": "您检查演练结果并确认。",
    "The backup is restored into the target with the namespace remapping and the data cleansing.":
        "按命名空间重映射和数据清洗规则将备份还原到目标集群。",
    "Start migration": "开始迁移",
    "The pre-flight found %(counter)s problem that would make objects fail: fix it in the target, or start a "
    "migration that excludes those kinds.": ("预检发现 %(counter)s 个会导致对象还原失败的问题：请在目标集群中修复，或新建一个排除这些资源类型的迁移。",),
    "The target cannot take this backup, so nothing was restored: %(reasons)s Run a dry run for the details, or "
    "exclude these kinds.": "目标集群无法接收此备份，因此未还原任何内容：%(reasons)s 请先演练查看详情，或排除这些资源类型。",
}
