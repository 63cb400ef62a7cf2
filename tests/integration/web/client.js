// MQTT.js under node: connects to URL (ws:// or wss://, CA file for wss),
// subscribes to ws/#, publishes one message to it, prints each message it
// gets as "got TOPIC PAYLOAD", and exits after COUNT of them (default 2).
const mqtt = require('mqtt');
const fs = require('fs');
const [url, ca, count] = [process.argv[2], process.argv[3], Number(process.argv[4] || 2)];
const opts = { protocolVersion: 4, reconnectPeriod: 0 };
if (ca && ca !== '-')
	opts.ca = fs.readFileSync(ca);
const client = mqtt.connect(url, opts);
let seen = 0;
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 10000);
client.on('connect', () => {
	client.subscribe('ws/#', { qos: 1 }, (err) => {
		if (err) { console.log('suback error', err.message); process.exit(1); }
		console.log('ready');
		client.publish('ws/node', 'hello over ' + url.split(':')[0], { qos: 1 });
	});
});
client.on('message', (topic, payload) => {
	console.log('got', topic, payload.toString());
	if (++seen === count) { clearTimeout(timer); client.end(); }
});
client.on('error', (e) => { console.log('error', e.message); process.exit(1); });
