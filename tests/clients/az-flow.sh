#!/usr/bin/env bash
# Azure CLI conformance flow against a live `gridform emulator serve --tls` (issue 16).
# Usage: az-flow.sh BASE_URL CA_PEM   (AZ = the az executable, default `az`)
# Drives az exactly as a user would, apart from the endpoint: cloud register (endpoint
# discovery), service-principal login, provider registration, the partner flow (partner
# configuration authorizing Auth0, Auth0 log stream, partner topic, activate, subscribe), a
# custom topic and a SignalR system topic with subscriptions, the regional and topic-type lists,
# publishing with key / SAS / CloudEvents (curl: az has no publish command), the requests Azure
# refuses (issue 16.4) and an update that sends a masked secret back, deletion and provider
# unregistration. Prints "ok: STEP" per step and "ALL OK" at the end.
set -euo pipefail

BASE=${1:?usage: az-flow.sh BASE_URL CA_PEM}
CA=${2:?usage: az-flow.sh BASE_URL CA_PEM}
AZ=${AZ:-az}
WORK=$(mktemp -d)
RECEIVER=
trap '[ -z "$RECEIVER" ] || kill "$RECEIVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export AZURE_CONFIG_DIR="$WORK/az" REQUESTS_CA_BUNDLE="$CA" AZURE_CORE_COLLECT_TELEMETRY=false
export AZURE_CORE_NO_COLOR=true AZURE_CORE_ONLY_SHOW_ERRORS=true

TENANT=7a1c3e5f-0000-4000-8000-00000000ca11
APP=7a1c3e5f-0000-4000-8000-0000000000a9
RG=gridform-az
LOC=westus2
SINK="$BASE/_emulator/sink/az"

step() { echo "ok: $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
expect() { # expect WHAT GOT WANTED
  [ "$2" = "$3" ] || fail "$1: got '$2', wanted '$3'"
}
az_() { "$AZ" "$@" --only-show-errors; }
api() { # api METHOD PATH [curl args...]: the emulator without az (Auth0, controls, data plane)
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body --cacert "$CA" -X "$method" "$BASE$path" "$@"
}

# --- cloud and login ------------------------------------------------------------------------
az_ cloud register -n GridformEmulator --endpoint-resource-manager "$BASE/" -o none
az_ cloud set -n GridformEmulator -o none
az_ config set core.instance_discovery=false -o none
step "cloud registered through /metadata/endpoints"
az_ login --service-principal -u "$APP" -p not-a-secret --tenant "$TENANT" -o none
SUB=$(az_ account show --query id -o tsv)
expect "default subscription" "$(az_ account list --query 'length(@)' -o tsv)" 1
expect "tenant of the subscription" "$(az_ account show --query tenantId -o tsv)" "$TENANT"
expect "locations" "$(az_ account list-locations --query "[?name=='$LOC'].displayName" -o tsv)" "West US 2"
step "service-principal login, default subscription $SUB, locations"

# --- provider and resource group ------------------------------------------------------------
az_ group create -n "$RG" -l "$LOC" -o none
az_ provider register -n Microsoft.EventGrid --wait -o none
expect "registration" "$(az_ provider show -n Microsoft.EventGrid --query registrationState -o tsv)" Registered
versions=$(az_ provider show -n Microsoft.EventGrid --query "resourceTypes[?resourceType=='topics'].apiVersions[]" -o tsv)
grep -qx 2021-10-15-preview <<<"$versions" || fail "apiVersions lacks 2021-10-15-preview: $versions"
step "resource group, Microsoft.EventGrid registered"

# --- catalogs -------------------------------------------------------------------------------
AUTH0_ID=$(az_ eventgrid partner verified-partner show --verified-partner-name Auth0 --query partnerRegistrationImmutableId -o tsv)
[ -n "$AUTH0_ID" ] || fail "Auth0 has no immutable id"
az_ eventgrid partner verified-partner list --query "[].name" -o tsv | grep -qx Auth0 || fail "verified partners lack Auth0"
az_ eventgrid topic-type list --query "[].name" -o tsv | grep -qx Microsoft.SignalRService.SignalR || fail "topic types lack SignalR"
az_ eventgrid topic-type list-event-types -n Microsoft.SignalRService.SignalR --query "[].name" -o tsv |
  grep -qx Microsoft.SignalRService.ClientConnectionConnected || fail "SignalR event types"
step "verified partner Auth0 ($AUTH0_ID), topic types, SignalR event types"

# --- partner flow ---------------------------------------------------------------------------
az_ eventgrid partner configuration create -g "$RG" \
  --authorized-partner partner-name=Auth0 "partner-registration-immutable-id=$AUTH0_ID" -o none
step "partner configuration authorizing Auth0"
A0_TOKEN=$(api POST /auth0/oauth/token -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"az-flow\",\"client_secret\":\"s\",\"audience\":\"https://${BASE#https://}/auth0/api/v2/\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
STREAM=$(api POST /auth0/api/v2/log-streams -H "authorization: Bearer $A0_TOKEN" -H 'content-type: application/json' \
  -d "{\"name\":\"az-flow\",\"type\":\"eventgrid\",\"sink\":{\"azureSubscriptionId\":\"$SUB\",\"azureResourceGroup\":\"$RG\",\"azureRegion\":\"$LOC\"}}")
STREAM_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$STREAM")
PT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sink"]["azurePartnerTopic"])' "$STREAM")
for _ in $(seq 100); do
  az_ eventgrid partner topic show -g "$RG" -n "$PT" -o none 2>/dev/null && break
  sleep 0.1
done
expect "partner topic state" "$(az_ eventgrid partner topic show -g "$RG" -n "$PT" --query activationState -o tsv)" NeverActivated
expect "activate" "$(az_ eventgrid partner topic activate -g "$RG" -n "$PT" --query activationState -o tsv)" Activated
# Partner topics deliver CloudEvents only.
az_ eventgrid partner topic event-subscription create -g "$RG" --partner-topic-name "$PT" -n on-partner \
  --endpoint "$SINK/partner" --event-delivery-schema cloudeventschemav1_0 -o none
step "Auth0 log stream -> partner topic $PT, activated, subscribed"

# --- custom topic and SignalR system topic --------------------------------------------------
TOPIC_ID=$(az_ eventgrid topic create -g "$RG" -n orders -l "$LOC" --query id -o tsv)
az_ eventgrid event-subscription create -n on-orders --source-resource-id "$TOPIC_ID" \
  --endpoint "$SINK/orders?code=SECRET" -o none
expect "masked endpoint" "$(az_ eventgrid event-subscription show -n on-orders --source-resource-id "$TOPIC_ID" --query destination.endpointBaseUrl -o tsv)" "$SINK/orders"
expect "full URL" "$(az_ eventgrid event-subscription show -n on-orders --source-resource-id "$TOPIC_ID" --include-full-endpoint-url --query destination.endpointUrl -o tsv)" "$SINK/orders?code=SECRET"
CE_ID=$(az_ eventgrid topic create -g "$RG" -n orders-ce -l "$LOC" --input-schema cloudeventschemav1_0 --query id -o tsv)
az_ eventgrid event-subscription create -n on-ce --source-resource-id "$CE_ID" \
  --endpoint "$SINK/ce" --event-delivery-schema cloudeventschemav1_0 -o none
SIGNALR="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.SignalRService/SignalR/chat"
az_ eventgrid system-topic create -g "$RG" -n signalr -l "$LOC" \
  --topic-type Microsoft.SignalRService.SignalR --source "$SIGNALR" -o none
az_ eventgrid system-topic event-subscription create -g "$RG" --system-topic-name signalr -n on-signalr \
  --endpoint "$SINK/signalr" --included-event-types Microsoft.SignalRService.ClientConnectionConnected -o none
step "custom topics (Event Grid and CloudEvents schema), SignalR system topic, subscriptions"

# --- aggregated lists -----------------------------------------------------------------------
regional=$(az_ eventgrid event-subscription list --location "$LOC" --query "[].name" -o tsv)
for n in on-orders on-ce on-signalr on-partner; do grep -qx "$n" <<<"$regional" || fail "regional list lacks $n: $regional"; done
by_type=$(az_ eventgrid event-subscription list --location "$LOC" --topic-type-name Microsoft.SignalRService.SignalR --query "[].name" -o tsv)
expect "regional list by topic type" "$by_type" on-signalr
az_ eventgrid event-subscription create -n on-subscription --source-resource-id "/subscriptions/$SUB" \
  --endpoint "$SINK/subscription" -o none
expect "global list by topic type" "$(az_ eventgrid event-subscription list --location global --topic-type-name Microsoft.Resources.Subscriptions --query '[].name' -o tsv)" on-subscription
step "regional and topic-type event subscription lists"

# --- publish: key, SAS, CloudEvents ---------------------------------------------------------
api DELETE /_emulator/sink -o /dev/null
ENDPOINT=$(az_ eventgrid topic show -g "$RG" -n orders --query endpoint -o tsv)
KEY=$(az_ eventgrid topic key list -g "$RG" -n orders --query key1 -o tsv)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
event() { echo "[{\"id\":\"$1\",\"subject\":\"orders/1\",\"eventType\":\"Order.Created\",\"eventTime\":\"$now\",\"data\":{},\"dataVersion\":\"1\"}]"; }
curl -sS --fail-with-body --cacert "$CA" "$ENDPOINT" -H "aeg-sas-key: $KEY" -H 'content-type: application/json' -d "$(event by-key)"
SAS=$(python3 - "$ENDPOINT" "$KEY" <<'EOF'
import base64, datetime, hashlib, hmac, sys, urllib.parse
endpoint, key = sys.argv[1], sys.argv[2]
expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%m/%d/%Y %I:%M:%S %p")
unsigned = "r=" + urllib.parse.quote(endpoint, safe="") + "&e=" + urllib.parse.quote(expiry, safe="")
sig = base64.b64encode(hmac.new(base64.b64decode(key), unsigned.encode(), hashlib.sha256).digest()).decode()
print(unsigned + "&s=" + urllib.parse.quote(sig, safe=""))
EOF
)
curl -sS --fail-with-body --cacert "$CA" "$ENDPOINT" -H "aeg-sas-token: $SAS" -H 'content-type: application/json' -d "$(event by-sas)"
CE_ENDPOINT=$(az_ eventgrid topic show -g "$RG" -n orders-ce --query endpoint -o tsv)
CE_KEY=$(az_ eventgrid topic key list -g "$RG" -n orders-ce --query key1 -o tsv)
curl -sS --fail-with-body --cacert "$CA" "$CE_ENDPOINT" -H "aeg-sas-key: $CE_KEY" \
  -H 'content-type: application/cloudevents+json; charset=utf-8' \
  -d '{"specversion":"1.0","id":"by-cloudevents","source":"/orders","type":"Order.Created","data":{}}'
api POST "/_emulator/auth0/log-streams/$STREAM_ID/events" -H 'content-type: application/json' \
  -d '[{"specversion":"1.0","id":"auth0-1","source":"urn:auth0:az-flow","type":"s","data":{"log_id":"auth0-1"}}]' -o /dev/null
api POST /_emulator/system-topics/events -H 'content-type: application/json' \
  -d "{\"source\":\"$SIGNALR\",\"events\":[{\"id\":\"signalr-1\",\"subject\":\"/hubs/chat\",\"eventType\":\"Microsoft.SignalRService.ClientConnectionConnected\",\"eventTime\":\"$now\",\"data\":{},\"dataVersion\":\"1.0\"}]}" -o /dev/null
for _ in $(seq 100); do
  sink=$(api GET /_emulator/sink)
  got=$(python3 -c 'import json,sys; print(sum(1 for v in json.loads(sys.argv[1])["value"] if v["eventType"]=="Notification"))' "$sink")
  [ "$got" -ge 5 ] && break
  sleep 0.1
done
for id in by-key by-sas by-cloudevents signalr-1; do grep -q "\"$id\"" <<<"$sink" || fail "event $id not delivered: $sink"; done
grep -q auth0-1 <<<"$sink" || fail "Auth0 event not delivered: $sink"
step "published with key, SAS and CloudEvents; Auth0 and SignalR events delivered"

# --- rejection probes (issue 16.4) ----------------------------------------------------------
# Each request Azure refuses, sent as an az user would (the command is "$AZ" ...); az must fail with the HTTP status (its
# --debug log) and the ARM error code it prints. Where az itself refuses before sending,
# refused_by_az checks that no write went out and that az said why.
probe() { # probe WHAT STATUS CODE az-args...
  local what=$1 status=$2 code=$3
  shift 3
  if AZURE_CORE_ONLY_SHOW_ERRORS=false "$@" --debug -o none >"$WORK/probe.out" 2>"$WORK/probe.err"; then
    fail "$what: az succeeded"
  fi
  grep -q "Response status: $status" "$WORK/probe.err" || fail "$what: no $status response: $(tail -5 "$WORK/probe.err")"
  grep -q "($code)" "$WORK/probe.err" || fail "$what: no ($code) in: $(grep -v '^DEBUG\|^INFO' "$WORK/probe.err")"
}
refused_by_az() { # refused_by_az WHAT MESSAGE-REGEX az-args...
  local what=$1 message=$2
  shift 2
  if AZURE_CORE_ONLY_SHOW_ERRORS=false "$@" --debug -o none >"$WORK/probe.out" 2>"$WORK/probe.err"; then
    fail "$what: az succeeded"
  fi
  ! grep -q "Request method: 'PUT'" "$WORK/probe.err" || fail "$what: az sent the PUT"
  grep -Eq "$message" "$WORK/probe.err" || fail "$what: az did not say '$message': $(grep -v '^DEBUG\|^INFO' "$WORK/probe.err")"
}
STORAGE="/subscriptions/$SUB/resourceGroups/$RG/providers/Microsoft.Storage/storageAccounts/deadletters"
sub_() { "$AZ" eventgrid event-subscription create -n probe --source-resource-id "$TOPIC_ID" --endpoint "$SINK/probe" "$@"; }
probe "unknown location" 400 LocationNotAvailableForResourceType "$AZ" eventgrid topic create -g "$RG" -n probe -l mars
probe "Deny rule" 400 InvalidRequest "$AZ" eventgrid topic create -g "$RG" -n probe -l "$LOC" --inbound-ip-rules 10.0.0.0/8 Deny
probe "mask not-an-ip" 400 InvalidRequest "$AZ" eventgrid topic create -g "$RG" -n probe -l "$LOC" --inbound-ip-rules not-an-ip Allow
mapfile -t tags < <(for i in $(seq 51); do echo "k$i=v"; done)
probe "51 tags" 400 InvalidRequest "$AZ" eventgrid topic create -g "$RG" -n probe -l "$LOC" --tags "${tags[@]}"
step "topics refused: location mars, Deny rule, mask not-an-ip, 51 tags"
mapfile -t values < <(seq 26)
probe "26 filter values" 400 InvalidRequest sub_ --advanced-filter subject StringIn "${values[@]}"
probe "513-character value" 400 InvalidRequest sub_ --advanced-filter subject StringIn "$(printf 'x%.0s' $(seq 513))"
# az knows the operators and parses NumberIn values as numbers, so these never leave the client.
refused_by_az "StringMatches" "StringMatches' is not a valid operator" sub_ --advanced-filter subject StringMatches a
refused_by_az "NumberIn with strings" "could not convert string to float" sub_ --advanced-filter data.n NumberIn a
# az checks the batch limits before sending too.
refused_by_az "maxEventsPerBatch 5001" "max-events-per-batch must be a number between 1 and 5000" sub_ --max-events-per-batch 5001
refused_by_az "preferredBatchSizeInKilobytes 1025" "preferred-batch-size-in-kilobytes must be a number" sub_ --preferred-batch-size-in-kilobytes 1025
attributes=()
for i in $(seq 11); do attributes+=(--delivery-attribute-mapping "h$i" static v); done
probe "11 delivery attributes" 400 InvalidRequest sub_ "${attributes[@]}"
# az splits the endpoint at "/containers/": an empty container name is sent as "".
probe "dead letter without container" 400 InvalidRequest sub_ --deadletter-endpoint "$STORAGE/blobServices/default/containers/"
probe "StorageQueue TTL 0" 400 InvalidRequest "$AZ" eventgrid event-subscription create -n probe --source-resource-id "$TOPIC_ID" \
  --endpoint-type storagequeue --endpoint "$STORAGE/queueServices/default/queues/q" --storage-queue-msg-ttl 0
step "event subscriptions refused: 26 values, 513 characters, 11 attributes, dead letter, queue TTL 0; StringMatches, NumberIn strings, batch limits refused by az"
probe "topic type of another source" 400 InvalidRequest "$AZ" eventgrid system-topic create -g "$RG" -n probe -l "$LOC" \
  --topic-type Microsoft.SignalRService.SignalR --source "$STORAGE"
probe "EventGridSchema on a partner topic" 400 InvalidRequest "$AZ" eventgrid partner topic event-subscription create -g "$RG" \
  --partner-topic-name "$PT" -n probe --endpoint "$SINK/probe" --event-delivery-schema eventgridschema
probe "EventGridSchema on a CloudEvents topic" 400 InvalidRequest "$AZ" eventgrid event-subscription create -n probe \
  --source-resource-id "$CE_ID" --endpoint "$SINK/probe" --event-delivery-schema eventgridschema
step "refused: system topic of another source, EventGridSchema on partner and CloudEvents topics"

# `update` sends back the destination as `show` printed it, the secret masked as "Hidden"; the
# stored secret must survive. A loopback receiver (the sink records no headers) shows X-Token.
python3 - "$WORK/tokens" >"$WORK/port" <<'EOF' &
import http.server, json, sys
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"null")
        first = body[0] if isinstance(body, list) and body else {}
        out = b""
        if first.get("eventType") == "Microsoft.EventGrid.SubscriptionValidationEvent":
            out = json.dumps({"validationResponse": first["data"]["validationCode"]}).encode()
        else:
            with open(sys.argv[1], "a") as f:
                f.write(self.headers.get("x-token", "<none>") + "\n")
        self.send_response(200)
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_port, flush=True)
server.serve_forever()
EOF
RECEIVER=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
az_ eventgrid event-subscription create -n with-secret --source-resource-id "$TOPIC_ID" \
  --endpoint "http://127.0.0.1:$(cat "$WORK/port")/hook" --delivery-attribute-mapping X-Token static s3cret true -o none
expect "masked secret" "$(az_ eventgrid event-subscription show -n with-secret --source-resource-id "$TOPIC_ID" \
  --query 'destination.deliveryAttributeMappings[0].value' -o tsv)" Hidden
az_ eventgrid event-subscription update -n with-secret --source-resource-id "$TOPIC_ID" --labels probed -o none
curl -sS --fail-with-body --cacert "$CA" "$ENDPOINT" -H "aeg-sas-key: $KEY" -H 'content-type: application/json' -d "$(event after-update)"
for _ in $(seq 100); do [ -s "$WORK/tokens" ] && break; sleep 0.1; done
expect "X-Token after update" "$(cat "$WORK/tokens" 2>/dev/null)" s3cret
kill "$RECEIVER"
RECEIVER=
az_ eventgrid event-subscription delete -n with-secret --source-resource-id "$TOPIC_ID"
step "update with the masked secret kept it: the webhook received X-Token s3cret"

# --- delete everything, unregister ----------------------------------------------------------
api DELETE "/auth0/api/v2/log-streams/$STREAM_ID" -H "authorization: Bearer $A0_TOKEN" -o /dev/null
az_ eventgrid event-subscription delete -n on-orders --source-resource-id "$TOPIC_ID"
az_ eventgrid event-subscription delete -n on-subscription --source-resource-id "/subscriptions/$SUB"
az_ eventgrid system-topic delete -g "$RG" -n signalr --yes
az_ eventgrid partner topic delete -g "$RG" -n "$PT" --yes
az_ eventgrid topic delete -g "$RG" -n orders
az_ eventgrid topic delete -g "$RG" -n orders-ce
az_ eventgrid partner configuration delete -g "$RG" --yes
az_ group delete -n "$RG" --yes
expect "group after deletion" "$(az_ group exists -n "$RG")" false
az_ provider unregister -n Microsoft.EventGrid --wait -o none
expect "unregistration" "$(az_ provider show -n Microsoft.EventGrid --query registrationState -o tsv)" Unregistered
step "deleted everything, Microsoft.EventGrid Unregistered"
echo "ALL OK"
