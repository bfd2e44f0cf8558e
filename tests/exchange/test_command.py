"""``hftshm exchange``: argument checks, and a real run in a child process."""

import os
import signal
import subprocess
import sys

import orjson
import pytest
import typer
from typer.testing import CliRunner

from hftshm.commands.exchange import exchange
from hftshm.exchange.rawclient import RawClient
from hftshm.exchange.signing import sign

app = typer.Typer()
app.command()(exchange)


@pytest.mark.parametrize("args, problem", [
    (["--rate", "0"], "rate must be between 1 and 2000000"),
    (["--symbols", "btcusdt,btcusdt"], "duplicates"),
    (["--symbols", "doge"], "does not end in a known quote asset"),
    (["--speed", "fast"], "'fast' is not a number or 'max'"),
    (["--levels", "1"], "levels must be an integer 2..1000"),
    (["--stall-every", "1"], "stall needs both"),
    (["--replay", "/nonexistent.capture"], "does not exist"),
    (["--port", "70000"], "port must be 0..65535"),
])
def test_bad_arguments_are_named(args, problem):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert problem in " ".join(result.output.split())


def test_secret_file_must_be_private(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("top-secret-value\n")
    secret.chmod(0o644)
    result = CliRunner().invoke(app, ["--api-secret-file", str(secret)])
    assert result.exit_code == 2
    assert "chmod 600" in " ".join(result.output.split())
    assert "top-secret-value" not in result.output


def test_runs_until_sigterm(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("top-secret-value\n")
    secret.chmod(0o600)
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hftshm.exchange", "--port", "0", "--port-file", str(port_file),
         "--count", "20", "--api-secret-file", str(secret), "--rate", "5000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("exchange listening on ws://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert int(port_file.read_text()) == port
        client = RawClient("127.0.0.1", port, "/ws/btcusdt@trade/btcusdt@bookTicker/ethusdt@trade/ethusdt@bookTicker")
        got = [p for op, p in client.frames(20) if op == 1]
        client.close()
        assert len(got) == 20 and all(orjson.loads(p)["s"] in ("BTCUSDT", "ETHUSDT") for p in got)
        api = RawClient("127.0.0.1", port, "/ws-api/v3")
        params = {"apiKey": "hftshm-demo-key", "timestamp": 1}
        params["signature"] = sign("top-secret-value", params)
        api.send_text(orjson.dumps({"id": 1, "method": "account.status", "params": params}).decode())
        op, resp = next(api.frames(1))
        api.close()
        # The secret from the file signs requests (this one is only too old).
        assert orjson.loads(resp)["error"]["code"] == -1021
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "exchange stopped: " in out
    assert "top-secret-value" not in out + err
    assert not port_file.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith("port")]
