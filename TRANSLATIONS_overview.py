"""Chinese for the overview charts and showback (issue #19 items 1 and 4); the integrator
merges these into locale/zh_Hans/LC_MESSAGES/django.po."""
T = {
    # overview (cceone/console/overview.py, templates/console/overview.html, components/bar_chart.html)
    "Instances by type": "实例类型分布",
    "Instances by region": "实例资源池分布",
    "Allocation rates (requests ÷ allocatable)": "分配率（请求量 ÷ 可分配量）",
    "CPU": "CPU",
    "Memory": "内存",
    "Show as a table": "以表格显示",
    "Resource overview": "资源总览",
    "Resource statistics": "资源统计",
    "Fleets belong to no region.": "容器舰队不属于任何资源池。",
    "From each cluster's latest heartbeat. Allocation rate = requests ÷ allocatable of Ready nodes.":
        "取自各集群最近一次心跳。分配率 = 请求量 ÷ 就绪节点的可分配量。",
    "View": "视图",
    # showback (billing/showback.py, billing/views.py, billing/api.py, templates/billing/showback.html)
    "Showback": "成本分摊",
    "View showback: costs per namespace, cluster, fleet and enterprise project":
        "查看成本分摊：按命名空间、集群、容器舰队和企业项目的费用",
    "Day": "日",
    "(no fleet)": "（无容器舰队）",
    "(no enterprise project)": "（无企业项目）",
    "(no CPU requests reported)": "（未上报 CPU 请求量）",
    "Group by namespace, cluster, fleet or project.": "请按命名空间、集群、容器舰队或企业项目分组。",
    "Show by day or by month.": "请按日或按月显示。",
    "Cost by %(dimension)s, %(month)s (¥)": "%(month)s 按%(dimension)s的费用（¥）",
    "Cost per day, %(month)s (¥)": "%(month)s 每日费用（¥）",
    "Period (UTC+8)": "周期（UTC+8）",
    "Showback of %(name)s for %(month)s": "%(name)s %(month)s 成本分摊",
    "Showback for %(month)s": "%(month)s 成本分摊",
    "Group by": "分组",
    "Per": "周期",
    "The same amounts as the <a href=\"%(url)s?month=%(month)s\">bill</a>, grouped differently.":
        "与<a href=\"%(url)s?month=%(month)s\">账单</a>金额相同，仅分组不同。",
    "How showback is calculated": "成本分摊的计算方式",
    "Every amount comes from the hourly usage records of the bill (vCPU × unit price × hours), so each month adds up "
    "to its bill.": "每笔金额都来自账单的小时话单（vCPU × 单价 × 小时数），因此每月合计等于当月账单。",
    "A cluster-hour's charge is split among its namespaces by their CPU requests, as the cluster's agent last reported "
    "them in that hour; an hour without reported requests is shown as not attributed.":
        "集群每小时的费用按该小时内集群代理最后一次上报的各命名空间 CPU 请求量分摊；未上报请求量的小时显示为未分摊。",
    "Fleets and enterprise projects are those the cluster was in when the hour was settled.":
        "容器舰队和企业项目以该小时结算时集群所属的为准。",
    "fleet id": "容器舰队 ID",
    "enterprise project id": "企业项目 ID",
    "namespace share": "命名空间分摊",
    "namespace shares": "命名空间分摊",
    "CPU requests (millicores)": "CPU 请求量（毫核）",
}
