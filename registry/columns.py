"""The store's column names and CREATE TABLE statements, table by table, as plain data: what
reading code and schema creation need without importing SQLModel. Generated from registry.schema
(`python -c "from registry import schema; schema.write_columns_module()"`);
tests/test_cli_latency.py checks the two agree."""

COLUMNS: dict[str, list[str]] = {
    "runs": ["key", "kind", "status", "source", "dataset", "model", "method", "check", "sparsity",
        "seed", "variant", "spec", "deps", "rundir", "host", "started", "finished", "code_version",
        "error", "traceback", "result_bytes", "result_mtime_ns", "studies", "device", "gpu_model",
        "torch_version", "cuda_version", "threads", "cpu_capability", "git_commit", "git_dirty",
        "git_diff_hash", "env_hash", "torch_build", "data_fingerprint", "domain_version",
        "world_size", "backend"],
    "epochs": ["key", "phase", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
        "seconds", "test_top5"],
    "layers": ["key", "idx", "layer", "shape", "weights", "kept", "keep_ratio"],
    "results": ["key", "test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
        "collapsed", "seconds", "extra", "params", "flops", "dense_params", "dense_flops",
        "val_selected_test_acc", "test_top5"],
    "evals": ["key", "run_key", "eval", "metric", "value"],
}

DDL: dict[str, str] = {
    "runs": (
        'CREATE TABLE IF NOT EXISTS runs ( key VARCHAR NOT NULL, kind VARCHAR NOT NULL, status VARCHAR '
        'NOT NULL, source VARCHAR NOT NULL, dataset VARCHAR, model VARCHAR, method VARCHAR, "check" '
        'VARCHAR, sparsity DOUBLE PRECISION, seed BIGINT, variant VARCHAR, spec TEXT, deps TEXT, rundir '
        'VARCHAR, host VARCHAR, started TIMESTAMP WITH TIME ZONE, finished TIMESTAMP WITH TIME ZONE, '
        'code_version VARCHAR, error TEXT, traceback TEXT, result_bytes BIGINT, result_mtime_ns BIGINT, '
        'studies TEXT, device VARCHAR, gpu_model VARCHAR, torch_version VARCHAR, cuda_version VARCHAR, '
        'threads INTEGER, cpu_capability VARCHAR, git_commit VARCHAR, git_dirty BOOLEAN, git_diff_hash '
        'VARCHAR, env_hash VARCHAR, torch_build VARCHAR, data_fingerprint VARCHAR, domain_version '
        'INTEGER, world_size INTEGER, backend VARCHAR, PRIMARY KEY (key) )'),
    "epochs": (
        'CREATE TABLE IF NOT EXISTS epochs ( key VARCHAR NOT NULL, phase VARCHAR NOT NULL, epoch INTEGER '
        'NOT NULL, train_loss DOUBLE PRECISION, train_acc DOUBLE PRECISION, test_loss DOUBLE PRECISION, '
        'test_acc DOUBLE PRECISION, lr DOUBLE PRECISION, seconds DOUBLE PRECISION, test_top5 DOUBLE '
        'PRECISION, PRIMARY KEY (key, phase, epoch) )'),
    "layers": (
        'CREATE TABLE IF NOT EXISTS layers ( key VARCHAR NOT NULL, idx INTEGER NOT NULL, layer VARCHAR '
        'NOT NULL, shape VARCHAR, weights BIGINT, kept BIGINT, keep_ratio DOUBLE PRECISION, PRIMARY KEY '
        '(key, idx) )'),
    "results": (
        'CREATE TABLE IF NOT EXISTS results ( key VARCHAR NOT NULL, test_acc DOUBLE PRECISION, '
        'best_test_acc DOUBLE PRECISION, train_loss DOUBLE PRECISION, test_loss DOUBLE PRECISION, '
        'achieved_sparsity DOUBLE PRECISION, collapsed BOOLEAN, seconds DOUBLE PRECISION, extra TEXT, '
        'params BIGINT, flops BIGINT, dense_params BIGINT, dense_flops BIGINT, val_selected_test_acc '
        'DOUBLE PRECISION, test_top5 DOUBLE PRECISION, PRIMARY KEY (key) )'),
    "evals": (
        'CREATE TABLE IF NOT EXISTS evals ( key VARCHAR NOT NULL, run_key VARCHAR NOT NULL, eval VARCHAR '
        'NOT NULL, metric VARCHAR NOT NULL, value DOUBLE PRECISION, PRIMARY KEY (key, eval, metric) )'),
}
