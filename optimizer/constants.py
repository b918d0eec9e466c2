"""Names shared by the library, the exports and the CLI: columns, statuses, methods."""

MODEL_FORMAT = "budgetopt-model/1"

KPI_REVENUE = "revenue"
KPI_CONVERSIONS = "conversions"
KPI_TYPES = (KPI_REVENUE, KPI_CONVERSIONS)

ALLOCATION_COLUMNS = (
    "channel", "current_spend", "spend", "change", "change_pct", "kpi_current", "kpi",
    "roi", "marginal_roi", "lower", "upper", "at_bound",
)
AT_LOWER = "lower"
AT_UPPER = "upper"
AT_FIXED = "fixed"
AT_OFF = "off"
AT_HISTORY = "history"  # held at the largest per-period spend its history shows

# Optimality statuses (cvxpy style: plain strings, grouped).
OPTIMAL = "optimal"
GAP_LIMIT = "feasible_gap"  # stopped by a node or time limit; the gap says how far from optimal

# Methods, as reported in outputs.
METHOD_KKT = "exact KKT (equal marginal ROI, multiplier to machine precision)"
METHOD_KKT_GROUPS = ("exact KKT with one multiplier per group (disjoint group rules), Lagrangian "
                     "dual bound")
METHOD_BRANCH_AND_BOUND = "global branch-and-bound on concave envelopes"
METHOD_LP = "LP with tangent cuts refined to the gap (HiGHS, one model kept between rounds)"
METHOD_MILP = "MILP on piecewise-linear upper bounds refined to the gap (HiGHS)"

METHOD_CONCAVE_PLAN = ("LP over periods with adstock dynamics, tangent cuts added to the gap "
                       "(concave curves; HiGHS, warm-started)")
METHOD_SHAPED_PLAN = ("LP over periods with adstock dynamics, spatial branch-and-bound on the "
                      "S-curves' levels and tangent cuts to the gap (HiGHS, warm-started)")
METHOD_COMMITTED_SUFFIX = "; branching on the minimum commitments (off, or on at least the minimum)"
METHOD_PRICED_PLAN = (METHOD_SHAPED_PLAN + "; bounded by each channel's plan alone, the rules "
                      "across channels priced (Lagrangian)")
