// JavaScript SDK conformance flow against a live `gridform emulator serve --tls` (issue 16).
// Usage: NODE_EXTRA_CA_CERTS=CA_PEM node flow.mjs BASE_URL
// Drives @azure/identity, @azure/arm-resources, @azure/arm-eventgrid and @azure/eventgrid as a
// user would, apart from the endpoint: the default subscription, provider registration, the
// partner flow (partner configuration authorizing Auth0, Auth0 log stream, partner topic,
// activate, subscribe), a custom topic and a SignalR system topic with subscriptions, the
// catalogs and aggregated lists, publishing with key / SAS / CloudEvents, the requests Azure
// refuses (issue 16.4) and an update that sends a masked secret back, deletion and unregistration. Prints "ok: STEP" per step and "ALL OK" at the end.
import assert from "node:assert/strict";
import http from "node:http";
import { ClientSecretCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { EventGridManagementClient } from "@azure/arm-eventgrid";
import {
  AzureKeyCredential,
  AzureSASCredential,
  EventGridPublisherClient,
  generateSharedAccessSignature,
} from "@azure/eventgrid";

const base = process.argv[2];
assert.ok(base?.startsWith("https://"), "usage: node flow.mjs https://HOST:PORT");
const TENANT = "7a1c3e5f-0000-4000-8000-00000000ca12";
const RG = "gridform-js";
const LOC = "westus2";
const SINK = `${base}/_emulator/sink/js`;
const step = (s) => console.log(`ok: ${s}`);
const poll = { updateIntervalInMs: 10 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const credential = new ClientSecretCredential(TENANT, "js-flow-app", "not-a-secret", {
  authorityHost: base,
  disableInstanceDiscovery: true,
});
const options = { endpoint: base, credentialScopes: ["https://management.azure.com/.default"] };

async function api(method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { "content-type": "application/json", ...headers } : headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

// --- subscription, provider, group ------------------------------------------------------------
// @azure/arm-resources 5 has no subscriptions operations (they live in another package), so the
// default subscription is read with the same credential over plain HTTPS.
const token = await credential.getToken("https://management.azure.com/.default");
const listed = await api("GET", "/subscriptions?api-version=2022-12-01", undefined, {
  authorization: `Bearer ${token.token}`,
});
const SUB = listed.value[0].subscriptionId;
assert.equal(listed.value[0].tenantId, TENANT);
step(`default subscription ${SUB} in the caller's tenant`);

const res = new ResourceManagementClient(credential, SUB, options);
const eg = new EventGridManagementClient(credential, SUB, options);
await res.resourceGroups.createOrUpdate(RG, { location: LOC });
await res.providers.register("Microsoft.EventGrid");
while ((await res.providers.get("Microsoft.EventGrid")).registrationState !== "Registered") await sleep(20);
const provider = await res.providers.get("Microsoft.EventGrid");
const topicsType = provider.resourceTypes.find((t) => t.resourceType === "topics");
assert.ok(topicsType.apiVersions.includes("2022-06-15"), topicsType.apiVersions);
step("resource group, Microsoft.EventGrid registered");

// --- catalogs ---------------------------------------------------------------------------------
const auth0 = await eg.verifiedPartners.get("Auth0");
assert.match(auth0.partnerRegistrationImmutableId, /^[0-9a-f-]{36}$/);
const partners = await collect(eg.verifiedPartners.list());
assert.ok(partners.some((p) => p.name === "Auth0"));
const types = await collect(eg.topicTypes.list());
assert.ok(types.some((t) => t.name === "Microsoft.SignalRService.SignalR"));
const signalrEvents = await collect(eg.topicTypes.listEventTypes("Microsoft.SignalRService.SignalR"));
assert.ok(signalrEvents.some((e) => e.name === "Microsoft.SignalRService.ClientConnectionConnected"));
step(`verified partner Auth0 (${auth0.partnerRegistrationImmutableId}), topic types, SignalR event types`);

// --- partner flow -----------------------------------------------------------------------------
await eg.partnerConfigurations.beginCreateOrUpdateAndWait(
  RG,
  {
    partnerAuthorization: {
      authorizedPartnersList: [
        { partnerName: "Auth0", partnerRegistrationImmutableId: auth0.partnerRegistrationImmutableId },
      ],
    },
  },
  poll,
);
step("partner configuration authorizing Auth0");
const host = base.replace("https://", "");
const a0 = await api("POST", "/auth0/oauth/token", {
  grant_type: "client_credentials",
  client_id: "js-flow",
  client_secret: "s",
  audience: `https://${host}/auth0/api/v2/`,
});
const a0Headers = { authorization: `Bearer ${a0.access_token}` };
const stream = await api(
  "POST",
  "/auth0/api/v2/log-streams",
  { name: "js-flow", type: "eventgrid", sink: { azureSubscriptionId: SUB, azureResourceGroup: RG, azureRegion: LOC } },
  a0Headers,
);
const ptName = stream.sink.azurePartnerTopic;
let pt;
for (let i = 0; i < 100 && !pt; i++) {
  pt = await eg.partnerTopics.get(RG, ptName).catch((e) => (e.statusCode === 404 ? sleep(20) : Promise.reject(e)));
}
assert.equal(pt.activationState, "NeverActivated");
assert.equal((await eg.partnerTopics.activate(RG, ptName)).activationState, "Activated");
// Partner topics deliver CloudEvents only.
await eg.partnerTopicEventSubscriptions.beginCreateOrUpdateAndWait(
  RG,
  ptName,
  "on-partner",
  { destination: { endpointType: "WebHook", endpointUrl: `${SINK}/partner` }, eventDeliverySchema: "CloudEventSchemaV1_0" },
  poll,
);
step(`Auth0 log stream -> partner topic ${ptName}, activated, subscribed`);

// --- custom topics and the SignalR system topic -----------------------------------------------
const topic = await eg.topics.beginCreateOrUpdateAndWait(RG, "orders", { location: LOC }, poll);
await eg.topicEventSubscriptions.beginCreateOrUpdateAndWait(
  RG,
  "orders",
  "on-orders",
  { destination: { endpointType: "WebHook", endpointUrl: `${SINK}/orders?code=SECRET` } },
  poll,
);
const got = await eg.topicEventSubscriptions.get(RG, "orders", "on-orders");
assert.equal(got.destination.endpointBaseUrl, `${SINK}/orders`);
assert.equal((await eg.topicEventSubscriptions.getFullUrl(RG, "orders", "on-orders")).endpointUrl, `${SINK}/orders?code=SECRET`);
const ceTopic = await eg.topics.beginCreateOrUpdateAndWait(
  RG,
  "orders-ce",
  { location: LOC, inputSchema: "CloudEventSchemaV1_0" },
  poll,
);
await eg.eventSubscriptions.beginCreateOrUpdateAndWait(
  ceTopic.id,
  "on-ce",
  { destination: { endpointType: "WebHook", endpointUrl: `${SINK}/ce` }, eventDeliverySchema: "CloudEventSchemaV1_0" },
  poll,
);
const signalr = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.SignalRService/SignalR/chat`;
await eg.systemTopics.beginCreateOrUpdateAndWait(
  RG,
  "signalr",
  { location: LOC, source: signalr, topicType: "Microsoft.SignalRService.SignalR" },
  poll,
);
await eg.systemTopicEventSubscriptions.beginCreateOrUpdateAndWait(
  RG,
  "signalr",
  "on-signalr",
  {
    destination: { endpointType: "WebHook", endpointUrl: `${SINK}/signalr` },
    filter: { includedEventTypes: ["Microsoft.SignalRService.ClientConnectionConnected"] },
  },
  poll,
);
step("custom topics (Event Grid and CloudEvents schema), SignalR system topic, subscriptions");

// --- aggregated lists -------------------------------------------------------------------------
const names = (list) => list.map((s) => s.name).sort();
const regional = names(await collect(eg.eventSubscriptions.listRegionalBySubscription(LOC)));
assert.deepEqual(regional, ["on-ce", "on-orders", "on-partner", "on-signalr"]);
const inGroup = names(await collect(eg.eventSubscriptions.listRegionalByResourceGroup(RG, LOC)));
assert.deepEqual(inGroup, regional);
const byType = names(
  await collect(eg.eventSubscriptions.listRegionalBySubscriptionForTopicType(LOC, "Microsoft.SignalRService.SignalR")),
);
assert.deepEqual(byType, ["on-signalr"]);
await eg.eventSubscriptions.beginCreateOrUpdateAndWait(
  `/subscriptions/${SUB}`,
  "on-subscription",
  { destination: { endpointType: "WebHook", endpointUrl: `${SINK}/subscription` } },
  poll,
);
const global = names(
  await collect(eg.eventSubscriptions.listGlobalBySubscriptionForTopicType("Microsoft.Resources.Subscriptions")),
);
assert.deepEqual(global, ["on-subscription"]);
step("regional and topic-type event subscription lists");

// --- publish: key, SAS, CloudEvents -----------------------------------------------------------
await api("DELETE", "/_emulator/sink");
const keys = await eg.topics.listSharedAccessKeys(RG, "orders");
const event = (id) => ({ id, subject: "orders/1", eventType: "Order.Created", dataVersion: "1", data: {} });
await new EventGridPublisherClient(topic.endpoint, "EventGrid", new AzureKeyCredential(keys.key1)).send([event("by-key")]);
const sas = await generateSharedAccessSignature(topic.endpoint, new AzureKeyCredential(keys.key1), new Date(Date.now() + 3600e3));
await new EventGridPublisherClient(topic.endpoint, "EventGrid", new AzureSASCredential(sas)).send([event("by-sas")]);
const ceKeys = await eg.topics.listSharedAccessKeys(RG, "orders-ce");
await new EventGridPublisherClient(ceTopic.endpoint, "CloudEvent", new AzureKeyCredential(ceKeys.key1)).send([
  { id: "by-cloudevents", source: "/orders", type: "Order.Created", data: {} },
]);
await api("POST", `/_emulator/auth0/log-streams/${stream.id}/events`, [
  { specversion: "1.0", id: "auth0-1", source: "urn:auth0:js-flow", type: "s", data: { log_id: "auth0-1" } },
]);
await api("POST", "/_emulator/system-topics/events", {
  source: signalr,
  events: [
    {
      id: "signalr-1",
      subject: "/hubs/chat",
      eventType: "Microsoft.SignalRService.ClientConnectionConnected",
      eventTime: new Date().toISOString(),
      data: {},
      dataVersion: "1.0",
    },
  ],
});
let sink = "";
for (let i = 0; i < 100; i++) {
  const got = await api("GET", "/_emulator/sink");
  sink = JSON.stringify(got);
  if (got.value.filter((v) => v.eventType === "Notification").length >= 5) break;
  await sleep(20);
}
for (const id of ["by-key", "by-sas", "by-cloudevents", "auth0-1", "signalr-1"]) {
  assert.ok(sink.includes(`"${id}"`), `event ${id} not delivered: ${sink}`);
}
step("published with key, SAS and CloudEvents; Auth0 and SignalR events delivered");

// --- rejection probes (issue 16.4) ------------------------------------------------------------
// Each request Azure refuses, sent through the SDK as a user would; the call must fail with a
// RestError carrying the HTTP status and ARM error code.
async function rejects(what, statusCode, code, call) {
  const err = await call().then(
    () => null,
    (e) => e,
  );
  assert.ok(err, `${what}: accepted`);
  assert.deepEqual([err.statusCode, err.code], [statusCode, code], `${what}: ${err.message}`);
}
const STORAGE = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/deadletters`;
const many = (n, item) => Array.from({ length: n }, (_, i) => item(i));
const hook = (extra = {}) => ({ endpointType: "WebHook", endpointUrl: `${SINK}/probe`, ...extra });
const probeTopic = (body) => eg.topics.beginCreateOrUpdateAndWait(RG, "probe", { location: LOC, ...body }, poll);
const probeSub = (body) => eg.topicEventSubscriptions.beginCreateOrUpdateAndWait(RG, "orders", "probe", body, poll);
const probeFilter = (filter) => probeSub({ destination: hook(), filter: { advancedFilters: [filter] } });
await rejects("unknown location", 400, "LocationNotAvailableForResourceType", () => probeTopic({ location: "mars" }));
await rejects("Deny rule", 400, "InvalidRequest", () =>
  probeTopic({ inboundIpRules: [{ ipMask: "10.0.0.0/8", action: "Deny" }] }),
);
await rejects("mask not-an-ip", 400, "InvalidRequest", () =>
  probeTopic({ inboundIpRules: [{ ipMask: "not-an-ip", action: "Allow" }] }),
);
await rejects("51 tags", 400, "InvalidRequest", () =>
  probeTopic({ tags: Object.fromEntries(many(51, (i) => [`k${i}`, "v"])) }),
);
step("topics refused: location mars, Deny rule, mask not-an-ip, 51 tags");
await rejects("26 filter values", 400, "InvalidRequest", () =>
  probeFilter({ operatorType: "StringIn", key: "subject", values: many(26, (i) => `v${i}`) }),
);
await rejects("513-character value", 400, "InvalidRequest", () =>
  probeFilter({ operatorType: "StringIn", key: "subject", values: ["x".repeat(513)] }),
);
await rejects("StringMatches", 400, "InvalidRequest", () =>
  probeFilter({ operatorType: "StringMatches", key: "subject", values: ["a"] }),
);
// The SDK's serializer refuses strings where its model says numbers: the request never leaves.
const refusedBySdk = await probeFilter({ operatorType: "NumberIn", key: "data.n", values: ["a"] }).then(
  () => null,
  (e) => e,
);
assert.equal(refusedBySdk?.statusCode, undefined, `NumberIn with strings reached the server: ${refusedBySdk}`);
assert.match(refusedBySdk.message, /values with value a must be of type number/);
await rejects("maxEventsPerBatch 5001", 400, "InvalidRequest", () =>
  probeSub({ destination: hook({ maxEventsPerBatch: 5001 }) }),
);
await rejects("preferredBatchSizeInKilobytes 1025", 400, "InvalidRequest", () =>
  probeSub({ destination: hook({ preferredBatchSizeInKilobytes: 1025 }) }),
);
await rejects("11 delivery attributes", 400, "InvalidRequest", () =>
  probeSub({ destination: hook({ deliveryAttributeMappings: many(11, (i) => ({ name: `h${i}`, type: "Static", value: "v" })) }) }),
);
await rejects("dead letter without container", 400, "InvalidRequest", () =>
  probeSub({ destination: hook(), deadLetterDestination: { endpointType: "StorageBlob", resourceId: STORAGE } }),
);
await rejects("StorageQueue TTL 0", 400, "InvalidRequest", () =>
  probeSub({
    destination: { endpointType: "StorageQueue", resourceId: STORAGE, queueName: "q", queueMessageTimeToLiveInSeconds: 0 },
  }),
);
step("event subscriptions refused: 26 values, 513 characters, StringMatches, batch limits, 11 attributes, dead letter, queue TTL 0; NumberIn strings refused by the SDK");
await rejects("topic type of another source", 400, "InvalidRequest", () =>
  eg.systemTopics.beginCreateOrUpdateAndWait(
    RG,
    "probe",
    { location: LOC, source: STORAGE, topicType: "Microsoft.SignalRService.SignalR" },
    poll,
  ),
);
await rejects("EventGridSchema on a partner topic", 400, "InvalidRequest", () =>
  eg.partnerTopicEventSubscriptions.beginCreateOrUpdateAndWait(
    RG,
    ptName,
    "probe",
    { destination: hook(), eventDeliverySchema: "EventGridSchema" },
    poll,
  ),
);
await rejects("EventGridSchema on a CloudEvents topic", 400, "InvalidRequest", () =>
  eg.eventSubscriptions.beginCreateOrUpdateAndWait(
    ceTopic.id,
    "probe",
    { destination: hook(), eventDeliverySchema: "EventGridSchema" },
    poll,
  ),
);
step("refused: system topic of another source, EventGridSchema on partner and CloudEvents topics");

// An update that sends back the destination as get returned it (the secret masked as "Hidden")
// keeps the stored secret. A loopback receiver (the sink records no headers) shows X-Token.
const tokens = [];
const receiver = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const first = JSON.parse(body || "null")?.[0] ?? {};
    if (first.eventType === "Microsoft.EventGrid.SubscriptionValidationEvent") {
      res.end(JSON.stringify({ validationResponse: first.data.validationCode }));
    } else {
      tokens.push(req.headers["x-token"]);
      res.end();
    }
  });
});
await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
await eg.topicEventSubscriptions.beginCreateOrUpdateAndWait(
  RG,
  "orders",
  "with-secret",
  {
    destination: {
      endpointType: "WebHook",
      endpointUrl: `http://127.0.0.1:${receiver.address().port}/hook`,
      deliveryAttributeMappings: [{ name: "X-Token", type: "Static", value: "s3cret", isSecret: true }],
    },
  },
  poll,
);
const shown = await eg.topicEventSubscriptions.get(RG, "orders", "with-secret");
assert.equal(shown.destination.deliveryAttributeMappings[0].value, "Hidden");
await eg.topicEventSubscriptions.beginUpdateAndWait(
  RG,
  "orders",
  "with-secret",
  { destination: shown.destination, labels: ["probed"] },
  poll,
);
await new EventGridPublisherClient(topic.endpoint, "EventGrid", new AzureKeyCredential(keys.key1)).send([event("after-update")]);
for (let i = 0; i < 100 && tokens.length === 0; i++) await sleep(20);
assert.deepEqual(tokens, ["s3cret"]);
receiver.close();
await eg.topicEventSubscriptions.beginDeleteAndWait(RG, "orders", "with-secret", poll);
step("update with the masked secret kept it: the webhook received X-Token s3cret");

// --- delete everything, unregister ------------------------------------------------------------
await api("DELETE", `/auth0/api/v2/log-streams/${stream.id}`, undefined, a0Headers);
await eg.eventSubscriptions.beginDeleteAndWait(`/subscriptions/${SUB}`, "on-subscription", poll);
await eg.systemTopics.beginDeleteAndWait(RG, "signalr", poll);
await eg.partnerTopics.beginDeleteAndWait(RG, ptName, poll);
await eg.topics.beginDeleteAndWait(RG, "orders", poll);
await eg.topics.beginDeleteAndWait(RG, "orders-ce", poll);
await eg.partnerConfigurations.beginDeleteAndWait(RG, poll);
await res.resourceGroups.beginDeleteAndWait(RG, poll);
assert.equal((await res.resourceGroups.checkExistence(RG)).body, false);
await res.providers.unregister("Microsoft.EventGrid");
while ((await res.providers.get("Microsoft.EventGrid")).registrationState !== "Unregistered") await sleep(20);
step("deleted everything, Microsoft.EventGrid Unregistered");
console.log("ALL OK");
