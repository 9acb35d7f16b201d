// The official Node SDK against topups-mock.
//
// Start the server (`cargo run --release`), then, from the repository root:
//
//   npm ci --prefix examples        # once: stripe 23.1.0 into examples/node_modules
//   node examples/node_client.mjs
//
// (examples/package.json pins the SDK; examples/node_modules is ignored by
// git.) TOPUPS_MOCK_PORT overrides the port (default 12111).
import Stripe from 'stripe';

const stripe = new Stripe('sk_test_example', {
  host: '127.0.0.1',
  port: Number(process.env.TOPUPS_MOCK_PORT ?? 12111),
  protocol: 'http',
});

const topup = await stripe.topups.create({ amount: 2000, currency: 'usd', description: 'Example top-up' });
console.log('created', topup.id, topup.status);

for await (const t of stripe.topups.list({ limit: 3 })) {
  console.log('listed', t.id, t.amount, t.status);
}

try {
  await stripe.topups.retrieve('tu_missing');
} catch (e) {
  console.log('error:', e.statusCode, e.code, e.message);
}

const canceled = await stripe.topups.cancel(topup.id);
console.log('canceled:', canceled.status);
