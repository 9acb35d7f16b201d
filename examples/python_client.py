"""The official Python SDK against topups-mock.

Start the server (`cargo run --release`), then:

    pip install stripe==16.1.0
    python examples/python_client.py

TOPUPS_MOCK_URL overrides the address (default http://127.0.0.1:12111).
It uses the SDK's current API, ``client.v1.topups`` (``client.topups`` is
deprecated since stripe 12 and warns).
"""

import os

import stripe

base = os.environ.get("TOPUPS_MOCK_URL", "http://127.0.0.1:12111")
# max_network_retries: StripeClient retries nothing unless told to; with it,
# injected 500/503s (--error-rate) are retried with the same Idempotency-Key.
client = stripe.StripeClient("sk_test_example", base_addresses={"api": base}, max_network_retries=2)

topup = client.v1.topups.create(params={"amount": 2000, "currency": "usd", "description": "Example top-up"})
print("created", topup.id, topup.status)

for t in client.v1.topups.list(params={"limit": 3}).auto_paging_iter():
    print("listed", t.id, t.amount, t.status)

try:
    client.v1.topups.retrieve("tu_missing")
except stripe.InvalidRequestError as e:
    print("error:", e.http_status, e.code, e.user_message)

canceled = client.v1.topups.cancel(topup.id)
print("canceled:", canceled.status)
