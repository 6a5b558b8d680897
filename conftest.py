"""Root conftest (doctests of irsjax/, optim/, scenarios/ get the same settings as tests/).

Every test runs with strict dtype promotion, rank promotion errors and two simulated CPU devices (so the
sharded engine path is exercised everywhere)."""
import os

TEST_DEVICES = 2  # simulated CPU devices (tests/golden/record.py records under the same setup by importing this)
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = (_flags + f" --xla_force_host_platform_device_count={TEST_DEVICES}").strip()
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


# The default suite must stay within about 10 minutes on 2 CPU cores (CI runs it on every stop). These checks
# are the costliest (each compiles a large program or runs subprocesses for a minute or more): they run with
# ``python -m pytest -m slow`` like the other long runs. Measured with IRSJAX_TEST_TIMING_LOG (below).
SLOW_IN_DEFAULT_BUDGET = (
    "tests/irsjax/test_scale.py::test_memory_does_not_grow_with_sample_count",
    "tests/irsjax/test_scale.py::test_prng_implementations[rbg]",
    "tests/irsjax/test_scale.py::test_prng_implementations[unsafe_rbg]",
    "tests/irsjax/test_two_way_system.py::test_pcg_and_threefry_streams_agree_statistically",
    "tests/irsjax/test_two_way_system.py::test_edge_cases_are_finite_and_n1_equals_random",
    "tests/irsjax/test_two_way_system.py::test_local_k_slope_formula_and_measured_slope",
    "tests/irsjax/test_two_way_system.py::test_eve_statistics_match_clt_model",
    "tests/irsjax/test_two_way_system.py::test_float64_mode",
    "tests/irsjax/test_two_way_system.py::test_stream_rows_recompute_and_uniformity",
    "tests/irsjax/test_two_way_analysis.py::test_theorem1_composition_vmap_jit_and_dtypes",
    "tests/irsjax/test_two_way_analysis.py::test_q_m_reference_and_paper_match_scipy[0.001-32-10]",
    "tests/irsjax/test_scheduling_system.py::test_independent_links_separate_clt_error_from_shared_link",
    "tests/irsjax/test_scheduling_system.py::test_conditional_agrees_with_plain_and_orderings",
    "tests/irsjax/test_scheduling_system.py::test_relay_monte_carlo_matches_closed_forms",
    "tests/irsjax/test_scheduling_system.py::test_rare_event_conditional_estimator_small",
    "tests/irsjax/test_scheduling_analysis.py::test_high_snr_limits",
    "tests/irsjax/test_scheduling_analysis.py::test_gradients_are_finite_and_match_finite_differences",
    "tests/irsjax/test_gradients.py::test_wiretap_asr_gradient_in_irs_position",
    "tests/irsjax/test_uplink_analysis.py::test_eve_law_is_gamma_and_independent_of_the_phases",
    "tests/scenarios/test_lv_two_way.py::test_theorem1_ingredients_match_monte_carlo_on_a_fixed_topology",
    "tests/scenarios/test_lv_two_way.py::test_small_power_sweep_via_cli_orderings_bound_and_derived",
    "tests/scenarios/test_maxmin_fp_convergence.py::test_fp_is_monotone_and_within_box",
    "tests/scenarios/test_maxmin_fp_convergence.py::test_trace_equals_power_control_history",
    "tests/scenarios/test_maxmin_fp_convergence.py::test_references_bound_fp_and_corners",
    "tests/scenarios/test_maxmin_fp_convergence.py::test_corner_is_optimal_for_one_pair",
    "tests/scenarios/test_maxmin_two_way.py::test_independent_irs_links",
    "tests/irsjax/test_wiretap.py::test_snr_laws",
    "tests/irsjax/test_wiretap.py::test_random_phase_sop_matches_closed_form",
    "tests/irsjax/test_wiretap.py::test_conditional_estimator_agrees_and_reduces_variance",
    "tests/irsjax/test_wiretap.py::test_pcg_and_threefry_draw_the_same_law",
    "tests/irsjax/test_uplink_system.py::test_config_is_a_pytree_one_compile_per_structure",
    "tests/irsjax/test_uplink_system.py::test_geometry_and_path_loss_of_3e",
    "tests/optim/test_surrogates_fp.py::test_fp_power_control_monotone_in_box_and_near_exhaustive",
    "tests/optim/test_sdr.py::test_bm_sdr_is_tight_for_coherent_objective",
    "tests/optim/test_maximize_phases.py::test_restarts_pick_best_and_init_is_used",
    "tests/test_notebooks.py::test_notebook_runs[two_way",
    "tests/irsjax/test_scale.py::test_prng_implementations[threefry2x32]",
    "tests/optim/test_minorizers.py::test_jax_sca_step_matches_the_cvxpy_step_tiny",
    "tests/optim/test_minorizers.py::test_secrecy_minorizer_is_below_the_true_rate_and_tight[0.03]",
    "tests/optim/test_certificates.py::test_ratio_and_max_min_bounds_are_rigorous",
    "tests/optim/test_oblique_cg.py::test_burer_monteiro_factor_reaches_the_psd_maximum",
    "tests/irsjax/test_scheduling_system.py::test_sop_saturates_increases_with_L_and_decreases_with_N",
    "tests/irsjax/test_two_way_analysis.py::test_eve_closed_forms_q_e1_and_j1[2.0-5.0]",
    "tests/irsjax/test_two_way_system.py::test_kernel_matches_literal_model[20.0]",
    "tests/scenarios/test_compile_counts.py::test_float_sweep_compiles_once[maxmin",
    "tests/scenarios/test_compile_counts.py::test_float_sweep_compiles_once[lv-two-way",
    "tests/scenarios/test_maxmin_fp_convergence.py::test_cli_preset_writes_fig3_results",
    "tests/scenarios/test_maxmin_two_way.py::test_scenario_point_small",
    "tests/scenarios/test_maxmin_two_way.py::test_best_of_several_ao_starts",
    "tests/scenarios/test_fbr_maxmin.py::test_tiny_run_through_the_runner",
    "tests/scenarios/test_ris_scheduling.py::test_sweeps_through_the_runner_compile_once_per_structure",
    "tests/optim/test_surrogates_fp.py::test_annealed_maxmin_reaches_exact_objective",
    "tests/optim/test_surrogates_fp.py::test_dinkelbach_on_wiretap_ratio_matches_direct_ascent",
    "tests/optim/test_sdr.py::test_gradient_reaches_sdr_bound_small",
    "tests/optim/test_maximize_phases.py::test_batched_matches_solve_under_jit_vmap",
    "tests/optim/test_maximize_phases.py::test_second_order_directions_reach_optimum_on_several_surfaces",
    "tests/optim/test_certificates.py::test_default_solution_is_certified_on_held_out",
    "tests/irsjax/test_importance.py::test_ss_deep_tail",
    "tests/irsjax/test_importance.py::test_os_agrees_with_plain",
    "tests/irsjax/test_importance.py::test_every_eavesdropper_mode_agrees_with_plain_monte_carlo[each-uniform]",
    "tests/irsjax/test_importance.py::test_every_eavesdropper_mode_agrees_with_plain_monte_carlo[total-uniform]",
    "tests/irsjax/test_distributed.py::test_cli_under_launcher",
    "tests/test_results_atomic.py::test_sigkill_during_a_real_run",
    "tests/test_notebooks.py::test_notebook_runs[fbr",
    "tests/test_notebooks.py::test_notebook_runs[maxmin",
    "tests/test_notebooks.py::test_notebook_runs[scheduling",
)


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW_IN_DEFAULT_BUDGET):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def key():
    """A fresh ``jax.random.key(0)`` for each test."""
    return jax.random.key(0)


@pytest.fixture(scope="session")
def numpy_reference():
    """``bench/numpy_reference.py``, the independent NumPy implementations the kernels are checked against."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench", "numpy_reference.py")
    spec = importlib.util.spec_from_file_location("numpy_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_runtest_logreport(report):
    """With ``IRSJAX_TEST_TIMING_LOG=FILE``, append each test's wall time as it finishes (budgeting the suite)."""
    path = os.environ.get("IRSJAX_TEST_TIMING_LOG")
    if path and (report.when == "call" or report.duration > 1.0):
        with open(path, "a") as f:
            f.write(f"{report.duration:8.1f} {report.when:5s} {report.outcome:7s} {report.nodeid}\n")
