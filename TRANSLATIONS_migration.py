"""Simplified Chinese for the incremental migration wizard's new msgids (issue #15 item 7)."""
T = {
    "“%(step)s” is not a step: write two non-negative whole numbers separated by a colon, such as 50:50.":
        "“%(step)s”不是有效的步骤：请写两个以冒号分隔的非负整数，例如 50:50。",
    "“%(step)s”: a weight is at most %(max)s.": "“%(step)s”：权重最大为 %(max)s。",
    "“%(step)s” gives neither member a weight: one of the two must be above zero.":
        "“%(step)s”未给任何成员权重：两者中至少一个须大于零。",
    "Give at least two steps: the first all on the source, such as 100:0, the last all on the target, such as 0:100.":
        "请至少填写两个步骤：第一步全部在源成员（例如 100:0），最后一步全部在目标成员（例如 0:100）。",
    "Give at most %(max)s steps.": "最多填写 %(max)s 个步骤。",
    "The first step must keep everything on the source: its target weight is 0, such as 100:0.":
        "第一步必须全部保留在源成员：目标权重为 0，例如 100:0。",
    "The last step must put everything on the target: its source weight is 0, such as 0:100.":
        "最后一步必须全部放到目标成员：源权重为 0，例如 0:100。",
    "Choose a target member other than the source.": "请选择与源成员不同的目标成员。",
    "A migration of this application is already under way: continue it on its page.":
        "该应用已有一个进行中的迁移：请在其页面上继续。",
    "Nothing of this application was promoted from %(member)s%(reasons)s.":
        "未能从 %(member)s 纳管该应用的任何对象%(reasons)s。",
    "Writing the policies for this step failed: %(message)s": "写入此步骤的分发策略失败：%(message)s",
    "The migration has moved since this page was shown: it is at step %(step)s now. Look again before choosing.":
        "本页显示后迁移已有变化：现在处于第 %(step)s 步。请重新查看后再选择。",
    "The migration is complete: there is no next step.": "迁移已完成：没有下一步。",
    "The next step is offered once the target's replicas of this step are ready.":
        "目标成员在本步骤的副本就绪后，才会提供下一步。",
    "The first step cannot be rolled back: everything is on the source.": "第一步无法回退：所有副本都在源成员。",
    "The user who started the migration can no longer act on it.": "发起该迁移的用户已无法再操作它。",
    "The target's replicas were not ready within %(minutes)s minutes.": "目标成员的副本在 %(minutes)s 分钟内未就绪。",
    "Source member": "源成员",
    "The member the application runs in now.": "应用当前运行所在的成员集群。",
    "Target member": "目标成员",
    "The member it moves to.": "应用要迁往的成员集群。",
    "For example app=shop: only this application's objects. Empty: everything in the namespace.":
        "例如 app=shop：仅该应用的对象。留空：命名空间中的全部对象。",
    "Weights source:target for each step, separated by spaces, such as 100:0 50:50 0:100. The first keeps "
    "everything on the source, the last puts everything on the target.":
        "每一步的权重，格式为 源:目标，以空格分隔，例如 100:0 50:50 0:100。第一步全部保留在源成员，最后一步全部放到目标成员。",
    "Migration started: the application was promoted from %(member)s.": "迁移已开始：已从 %(member)s 纳管该应用。",
    "Shifting replicas": "正在迁移副本",
    "Step reached": "步骤已完成",
    "Stalled": "已停滞",
    "source member": "源成员",
    "target member": "目标成员",
    "steps": "步骤",
    "current step": "当前步骤",
    "step started at": "步骤开始时间",
    "federation migration": "联邦迁移",
    "federation migrations": "联邦迁移",
    "Move an application from one member cluster to another without downtime: the federation first takes it over "
    "where it runs (its pods keep running), then shifts its replicas to the target step by step, each step offered "
    "once the target's replicas of the previous one are ready.":
        "将应用从一个成员集群不停机地迁移到另一个：联邦先在其运行所在处纳管它（其容器组继续运行），然后逐步把副本迁往目标成员，"
        "每一步在目标成员上一步的副本就绪后才会提供。",
    "Start a migration": "开始迁移",
    "Promote and start": "纳管并开始",
    "Migrations of this federation": "本联邦的迁移",
    "Application": "应用",
    "Started": "开始时间",
    "%(current)s of %(total)s": "%(current)s / %(total)s",
    "No migration yet. Choose a source and a target member and the application above, then start: the first step "
    "promotes it.": "尚无迁移。请在上方选择源成员、目标成员和应用，然后开始：第一步会纳管该应用。",
    "No migration yet. A user allowed to deploy to this federation can start one.":
        "尚无迁移。有权向本联邦部署的用户可以发起迁移。",
    "Migration": "迁移",
    "Migration of %(namespace)s from %(source)s to %(target)s": "%(namespace)s 从 %(source)s 迁移到 %(target)s",
    "Step 1: promotion from the source": "第 1 步：从源成员纳管",
    "step %(current)s of %(total)s": "第 %(current)s 步，共 %(total)s 步",
    "waiting until the target's replicas are ready…": "正在等待目标成员的副本就绪…",
    "Weights are %(source)s:%(target)s.": "权重为 %(source)s:%(target)s。",
    "Next step: %(source)s:%(target)s": "下一步：%(source)s:%(target)s",
    "Roll back one step": "回退一步",
    "The migration is complete: everything runs in %(target)s.": "迁移已完成：全部运行在 %(target)s 中。",
    "Where the replicas are": "副本所在位置",
    "Workload": "工作负载",
    "%(ready)s ready of %(scheduled)s": "%(scheduled)s 个中 %(ready)s 个就绪",
    "No workload in this application: its other objects follow the steps.": "该应用没有工作负载：其他对象随步骤迁移。",
    "Other objects, on the members that hold replicas at this step": "其他对象（位于本步骤持有副本的成员上）",
    "History": "历史",
    "Step": "步骤",
    "Promoted from the source": "已从源成员纳管",
    "Step applied": "步骤已应用",
    "Rolled back": "已回退",
}
