"""Which processor a workspace uses and where its secret comes from: the [payments]
settings (each bad value named), the secret from the environment, a file, or the
stand-in's own file made 0600 in a workspace (never elsewhere); rotation accepts the
old secret and the new; start_checkout refuses bad input naming the field."""

from __future__ import annotations

import stat
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from payment_support import SECRET, book_loan
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import (
    SIGNATURE_HEADER,
    CheckoutRequest,
    HostedCheckout,
    ProcessorError,
    StandInProcessor,
    WebhookRejected,
    event_body,
    signature_header,
)
from arrears.services.payment_config import (
    ENV_PROCESSOR_SECRET,
    STANDIN_SECRET_FILE,
    PaymentConfigError,
    configured_processor,
)
from arrears.services.payments import CheckoutError, start_checkout
from arrears.services.settings import PaymentSettings, SettingsError, load_settings
from arrears.workspace import Workspace


@pytest.fixture(autouse=True)
def no_secret_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_PROCESSOR_SECRET, raising=False)


def _settings(root: Path, text: str) -> PaymentSettings:
    (root / "arrears.toml").write_text(text, encoding="utf-8")
    return load_settings(root).payments


def test_payments_settings_default_to_the_standin(tmp_path: Path) -> None:
    assert load_settings(tmp_path).payments == PaymentSettings("standin", "", 300)
    got = _settings(tmp_path, '[payments]\nprocessor = "acme-pay"\ntolerance_seconds = 60\n')
    assert got == PaymentSettings("acme-pay", "", 60)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[payments]\nsecret = "whsec_abcdefghijklmnop"\n', "payments.secret does not belong"),
        ("[payments]\nprocessor = 7\n", "payments.processor must be a name"),
        ('[payments]\nprocessor = "Acme Pay"\n', "payments.processor must be a name"),
        ("[payments]\ntolerance_seconds = 5\n", "payments.tolerance_seconds"),
        ("[payments]\ntolerance_seconds = true\n", "payments.tolerance_seconds"),
        ('[payments]\ntolerance_seconds = "300"\n', "payments.tolerance_seconds"),
        ("[payments]\nsecret_file = 3\n", "payments.secret_file must be a path"),
        ("[payments]\ncheckout_minutes = 2\n", "payments.checkout_minutes must be a whole"),
        ("[payments]\ncheckout_minutes = 1441\n", "payments.checkout_minutes must be a whole"),
        ('[payments]\ncheckout_minutes = "60"\n', "payments.checkout_minutes must be a whole"),
        ("[payments]\nwebhook = 1\n", "payments.webhook is not a setting"),
        ('payments = "standin"\n', "payments must be a table"),
    ],
)
def test_bad_payments_settings_are_named(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        _settings(tmp_path, text)


def test_the_standin_secret_is_made_private_in_a_workspace_only(tmp_path: Path) -> None:
    bare = configured_processor(tmp_path)  # not a workspace: nothing is written there
    assert isinstance(bare, StandInProcessor) and bare.keys == ()
    assert not (tmp_path / STANDIN_SECRET_FILE).exists()
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    made = configured_processor(ws.root)
    path = ws.root / STANDIN_SECRET_FILE
    assert isinstance(made, StandInProcessor) and len(made.keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert configured_processor(ws.root).keys == made.keys  # made once, then read


def test_workers_making_the_standin_secret_at_once_agree_on_one(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    barrier = threading.Barrier(8)
    keys: list[tuple[bytes, ...]] = []

    def make() -> None:
        barrier.wait()
        keys.append(configured_processor(ws.root).keys)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in ws.root.glob(".processor-secret*")] == []  # no leftovers


def test_secret_file_and_environment_and_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = b"old-secret-0123456789", b"new-secret-0123456789"
    (tmp_path / "secret.txt").write_text(f"{new.decode()}\n{old.decode()}\n", encoding="utf-8")
    _settings(tmp_path, '[payments]\nsecret_file = "secret.txt"\n')
    processor = configured_processor(tmp_path)
    assert processor.keys == (new, old)  # type: ignore[attr-defined]
    body = event_body("paid", "c", Decimal("1.00"), "CNY", payment_id="p", created=1)
    for key in (old, new):  # deliveries signed with either verify during a rotation
        headers = {SIGNATURE_HEADER: signature_header(key, 1000, body)}
        assert processor.verify_webhook(headers, body, 1000).checkout_id == "c"
    with pytest.raises(WebhookRejected) as refused:
        processor.verify_webhook(
            {SIGNATURE_HEADER: signature_header(SECRET, 1000, body)}, body, 1000
        )
    assert refused.value.status == 401
    monkeypatch.setenv(ENV_PROCESSOR_SECRET, SECRET.decode())
    assert configured_processor(tmp_path).keys == (SECRET,)  # type: ignore[attr-defined]
    monkeypatch.setenv(ENV_PROCESSOR_SECRET, "short")
    with pytest.raises(PaymentConfigError) as short:
        configured_processor(tmp_path)
    assert "short" not in str(short.value)


def test_an_unknown_processor_or_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    _settings(tmp_path, '[payments]\nprocessor = "acme"\n')
    with pytest.raises(PaymentConfigError, match="'acme' has no adapter"):
        configured_processor(tmp_path)
    _settings(tmp_path, '[payments]\nsecret_file = "missing.txt"\n')
    with pytest.raises(PaymentConfigError, match=r"missing\.txt cannot be read"):
        configured_processor(tmp_path)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"loan_id": "L404"}, "loan_id"),
        ({"customer_id": "C2"}, "loan_id"),
        ({"currency": "USD"}, "currency"),
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-1.00")}, "amount"),
        ({"amount": Decimal("1.001")}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"origin": "sms"}, "origin"),
        ({"return_url": "//evil.example/x"}, "return_url"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"return_url": ""}, "return_url"),
    ],
)
def test_start_checkout_refuses_bad_input_naming_the_field(
    tmp_path: Path, changes: dict, field: str
) -> None:
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    book_loan(ws)
    values = {
        "loan_id": "L1",
        "customer_id": "C1",
        "amount": Decimal("10.00"),
        "currency": "CNY",
        "return_url": "/portal",
        **changes,
    }
    with Session(ws.engine) as session, pytest.raises(CheckoutError, match=f"^{field}:"):
        start_checkout(session, **values)


class _Refusing:
    """A processor adapter whose API refuses every checkout (as a real one may)."""

    name = "refusing"

    def create_checkout(self, request: CheckoutRequest) -> HostedCheckout:
        raise ProcessorError("merchant account suspended")

    def verify_webhook(self, headers: dict, body: bytes, now: int) -> None:  # pragma: no cover
        raise AssertionError("not called")


def test_a_processor_refusing_the_checkout_is_a_checkout_error(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path / "ws")
    ws.init()
    book_loan(ws)
    refused = r"^processor: refusing refused .*suspended"
    with Session(ws.engine) as session, pytest.raises(CheckoutError, match=refused):
        start_checkout(
            session,
            loan_id="L1",
            customer_id="C1",
            amount=Decimal("10.00"),
            currency="CNY",
            return_url="/portal",
            processor=_Refusing(),  # type: ignore[arg-type]
        )
