package plan

// fullPlan sets every field of a plan.
const fullPlan = `# every field of a plan
target: https://api.example.test:8443/
rate: 2000/s
duration: 30s
arrival: poisson
seed: 42
mode: keepalive
connections: 64
max_inflight: 5000
pacer: precise
client: std
local: 2
weights: [2, 1]
workers: 0
listen: 127.0.0.1:7071
join_timeout: 10s
on_worker_loss: abort
orphan_timeout: 3s
method: POST
headers:
  Accept: application/json
  X-Multi: [a, b]
body: '{"hello": "world"}'
timeout: 5s
connect_timeout: 1s
tls_timeout: 1s
ttfb_timeout: 2s
cacert: ca.pem
tls_min: 1.2
tls_max: "1.3"
resolve: [api.example.test:8443:127.0.0.1]
dns_server: 127.0.0.1:5353
dns_cache: false
expect_status: 2xx,304
slo: [total.p99<50ms, errors<0.1%]
junit: slo.xml
out: results
quiet: true
exemplars: 8
target_params: ttfb=1ms
requests:
  - label: list
    url: /items
    weight: 70
  - label: get
    method: GET
    url: https://api.example.test:8443/items/1
    headers: ["If-None-Match: abc"]
    weight: 20
  - label: create
    body_file: item.json
    weight: 10
`

const targetsSample = `# two requests
GET https://api.example.test/items?page=1
Accept: application/json
X-Trace:   on

  POST https://api.example.test/items
Content-Type: application/json
@bodies/item.json
`
