"""One process of a distributed test run (started by irsjax.launch from tests/irsjax/test_distributed.py).

argv: OUT_DIR REPORT_DIR KS [estimate]. Every process: the same estimate, a sweep spread by point, the shared resume
store; only the primary writes into OUT_DIR; every process reports what it saw in REPORT_DIR/proc-i.json.
"""
import json
import os
import sys

from irsjax import distributed as D

D.initialize()

import jax  # noqa: E402

from irsjax import montecarlo as mc  # noqa: E402
from irsjax import results as R  # noqa: E402
from irsjax import scenario as S  # noqa: E402
from irsjax.systems.wiretap import WiretapConfig  # noqa: E402
from scenarios.wiretap import SCENARIO  # noqa: E402

out, report_dir, ks = sys.argv[1], sys.argv[2], sys.argv[3]
rank, nproc = D.process_index(), D.process_count()
est = {}
if "estimate" in sys.argv[4:]:
    est = mc.estimate(WiretapConfig(K=8, P_dBm=0.0), jax.random.key(3), 20_000, batch_size=4096,
                      probabilities=("out_random",))
store = D.partial_store(out, "sig")  # the test wrote one finished point "x" there
seen = store.point("x")
store.save_point("y", {"from": rank})  # only the primary's lands on disk
params, sweep, values = S.resolve(SCENARIO, {"K": ks, "P_dBm": "10"})
mine = D.assign_points(len(values), nproc, rank)
res = D.run_sweep_by_point(SCENARIO, params, sweep, values, seed=1, samples=3000)
if D.is_primary():
    R.write_results(res, out, plot=False)
D.barrier("done")
with open(os.path.join(report_dir, f"proc-{rank}.json"), "w") as f:
    json.dump({"rank": rank, "nproc": nproc, "devices": jax.device_count(), "local": jax.local_device_count(),
               "estimate": {k: [float(v.mean).hex(), float(v.variance).hex()] for k, v in est.items()},
               "seen": seen, "writer": getattr(store, "writer", True), "mine": mine,
               "series": res["series"], "derived": res["derived"]}, f)
