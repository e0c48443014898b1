"""The server's state directory across restarts and crashes."""

import signal

from nimbus_harness import NimbusServer


def test_restart_on_the_same_data_directory(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        assert first.health()["durability"] == "wal"
    with NimbusServer(data_dir=tmp_path) as second:
        assert second.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_sigkill_then_restart_recovers_without_a_manual_step(tmp_path):
    first = NimbusServer(data_dir=tmp_path).start()
    first.client("sts").get_caller_identity()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    with NimbusServer(data_dir=tmp_path) as second:
        assert second.health()["status"] == "running"


def test_durability_sync_is_reported(nimbus_factory):
    server = nimbus_factory("--durability", "sync")
    assert server.health()["durability"] == "sync"


def test_a_second_server_cannot_share_the_data_directory(nimbus, nimbus_factory):
    try:
        nimbus_factory("--data-dir", nimbus.data_dir)
    except RuntimeError as refused:
        assert "in use by another nimbus server" in str(refused)
    else:
        raise AssertionError("second server started on a locked data directory")


def test_health_reports_the_function_sandbox(nimbus):
    functions = nimbus.health()["functions"]
    assert functions["isolation"] in ("namespaces", "process")
    assert functions["cgroups"] in ("v1", "v2", "none")
    assert functions["instances"] == 0


def test_process_isolation_can_be_chosen(nimbus_factory):
    server = nimbus_factory("--isolation", "process", "--function-idle-timeout", "5")
    assert server.health()["functions"]["isolation"] == "process"
