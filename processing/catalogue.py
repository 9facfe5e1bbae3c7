"""The algorithms the provider offers, as plain data (importable without the engine's libraries).

When shapely 2, pandas or pyproj are missing from QGIS's Python the provider still lists
these ids (in the toolbox, models and ``qgis_process list``) and each one explains, when run,
which library to install — instead of the plugin failing to load.
"""

# (name, display name, group id) — kept equal to the algorithm classes by a test.
ALGORITHMS = (
    ("checkunits", "合规性检查（整治单元方案）", "check"),
    ("controllineconflicts", "三线冲突分析", "check"),
    ("landusestructure", "土地利用结构调整表", "indicators"),
    ("landuseflow", "地类流向分析", "indicators"),
    ("contiguouspatches", "永久基本农田集中连片分析", "indicators"),
    ("pbfadjustment", "永久基本农田调出调入台账", "indicators"),
    ("createscheme", "新建整治方案", "scheme"),
    ("potentialsurvey", "整治潜力调查", "scheme"),
    ("exporttxt", "导出部标 TXT 坐标文件", "exchange"),
    ("importtxt", "导入部标 TXT 坐标文件", "exchange"),
    ("exportunitscheme", "导出单元方案成果包", "export"),
)
