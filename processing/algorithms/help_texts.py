"""Help text shared by the algorithms: the conventions every figure follows."""

CONVENTION_ZH = (
    "<p><b>计算口径</b>：面积一律为 CGCS2000 椭球面积（不论图层坐标系，统一投影到数据中心的等积方位投影上计算）；"
    "地类面积按三调统计口径：图斑被切分时按 图斑地类面积 TBDLMJ ×（切分面积 ÷ 图斑面积）计入，扣除部分（KCMJ）计入田坎 1203；"
    "无 TBMJ/TBDLMJ 时按 面积 ×（1 − KCXS），再无 KCXS 时按面积。子项目把其范围内的地类改为规划地类 GHDLBM，"
    "改为其他地类的部分不再扣除田坎，除非子项目给出 KCXS。永久基本农田、生态保护红线、城镇开发边界按图形面积，"
    "且按“土地集合”计：同一图层内相互重叠的要素读取时合并（日志列出要素编号和重叠面积），重叠部分只计一次；"
    "同一类型的子项目相互重叠时，按类型统计的面积也只计一次。"
    "结果以亩（1 亩 = 10000/15 平方米）、公顷和百分比给出，比较时按规则的小数位取整。</p>"
)
CONVENTION_EN = (
    "<p><b>Conventions</b>: all areas are ellipsoidal on CGCS2000, whatever each layer's CRS (computed in an "
    "equal-area azimuthal projection centred on the data). Land-class areas follow the third national land "
    "survey statistics: a cut parcel contributes TBDLMJ × (piece area ÷ parcel area), the deduction (KCMJ) being "
    "booked as 1203 田坎; without TBMJ/TBDLMJ it is area × (1 − KCXS), without KCXS the area. A sub-project sets "
    "the planned class GHDLBM on its footprint, with no deduction unless it gives KCXS. Farmland protection, red "
    "line and urban boundary areas are geometry areas, each layer taken as a set of land: features of one layer "
    "that overlap are unioned on reading (the log names them and the overlap), so no land counts twice; "
    "overlapping sub-projects of one type count their land once in figures by type. "
    "Figures in mu (10000/15 m²), hectares and percent; "
    "verdicts compare values rounded to the rule's decimals.</p>"
)
