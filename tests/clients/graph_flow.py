"""Drives the emulator's Microsoft Graph subscriptions API with the official msgraph-sdk,
unchanged apart from its base URL and a token provider that asks the emulator's Entra token
endpoint (client credentials for https://graph.microsoft.com/.default).

Usage: graph_flow.py BASE_URL CA_PEM   (BASE_URL is the emulator's https://127.0.0.1:PORT)

The partner configuration that authorizes MicrosoftGraphAPI is created first with plain ARM
calls. Then: create, the partner topic Graph creates, get, list, renew (the expiry read back),
reauthorize, requests Graph refuses (parsed by the SDK as ODataError with their codes), delete.
Prints ALL OK at the end; any failure raises.
"""

import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription
from msgraph_core import GraphClientFactory

BASE, CA = sys.argv[1].rstrip("/"), sys.argv[2]
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "6a1c0b4e-0d2f-4f43-9c55-0f6f3e7b9a11"
SUB = "8a8a8a8a-4b4b-4c4c-4d4d-12e12e12e12e"
GROUP = f"/subscriptions/{SUB}/resourceGroups/graph-flow"
EG = "api-version=2025-02-15"
RS = "api-version=2021-04-01"


def token(scope):
    form = {"grant_type": "client_credentials", "client_id": APP, "client_secret": "s3cret", "scope": scope}
    r = httpx.post(f"{BASE}/{TENANT}/oauth2/v2.0/token", data=form, verify=CA)
    r.raise_for_status()
    return r.json()["access_token"]


class EmulatorTokenProvider(AccessTokenProvider):
    """Client credentials against the emulator's Entra token endpoint."""

    async def get_authorization_token(self, uri, additional_authentication_context={}):
        async with httpx.AsyncClient(verify=CA) as http:
            form = {"grant_type": "client_credentials", "client_id": APP, "client_secret": "s3cret",
                    "scope": "https://graph.microsoft.com/.default"}
            r = await http.post(f"{BASE}/{TENANT}/oauth2/v2.0/token", data=form)
            r.raise_for_status()
            return r.json()["access_token"]

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


def arm(method, path, body=None):
    headers = {"authorization": f"Bearer {token('https://management.azure.com/.default')}"}
    r = httpx.request(method, f"{BASE}{path}", json=body, headers=headers, verify=CA)
    assert r.status_code < 300 or method == "GET", f"{method} {path}: {r.status_code} {r.text}"
    return r


def wait_for(what, check):
    for _ in range(300):
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def setup_partner_configuration():
    arm("POST", f"/subscriptions/{SUB}/providers/Microsoft.EventGrid/register?{RS}")
    provider = f"/subscriptions/{SUB}/providers/Microsoft.EventGrid?{RS}"
    wait_for("Event Grid registered", lambda: arm("GET", provider).json().get("registrationState") == "Registered")
    arm("PUT", f"{GROUP}?{RS}", {"location": "westus2"})
    cfg = f"{GROUP}/providers/Microsoft.EventGrid/partnerConfigurations/default?{EG}"
    arm("PUT", cfg, {"properties": {"partnerAuthorization": {
        "authorizedPartnersList": [{"partnerName": "MicrosoftGraphAPI"}]}}})
    wait_for("partner configuration provisioned",
             lambda: arm("GET", cfg).json()["properties"]["provisioningState"] == "Succeeded")


def graph_client():
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=CA))
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(EmulatorTokenProvider()), http)
    adapter.base_url = f"{BASE}/graph/v1.0"
    return GraphServiceClient(request_adapter=adapter)


async def refused(what, call, status, code):
    try:
        await call
    except ODataError as e:
        assert e.response_status_code == status, f"{what}: {e.response_status_code}"
        assert e.error.code == code, f"{what}: {e.error.code} {e.error.message}"
        print(f"refused as Graph does: {what} -> {status} {code}")
        return
    raise AssertionError(f"{what}: accepted")


async def main():
    setup_partner_configuration()
    client = graph_client()
    url = f"EventGrid:?azuresubscriptionid={SUB}&resourcegroup=graph-flow&partnertopic=entra-users&location=westus2"
    now = datetime.now(timezone.utc)
    created = await client.subscriptions.post(Subscription(
        change_type="updated,deleted", resource="users", notification_url=url,
        lifecycle_notification_url=url, expiration_date_time=now + timedelta(days=2),
        client_state="flow-client-state"))
    assert created.id and created.application_id == APP, created
    assert created.client_state == "flow-client-state"
    print(f"created {created.id}, expires {created.expiration_date_time}")

    topic = f"{GROUP}/providers/Microsoft.EventGrid/partnerTopics/entra-users?{EG}"
    wait_for("Graph created the partner topic", lambda: arm("GET", topic).status_code == 200)
    props = arm("GET", topic).json()["properties"]
    assert props["activationState"] == "NeverActivated", props
    assert props["source"] == f"/tenants/{TENANT}/applications/{APP}", props

    one = client.subscriptions.by_subscription_id(created.id)
    got = await one.get()
    assert got.resource == "users" and got.change_type == "updated,deleted", got
    page = await client.subscriptions.get()
    assert created.id in [s.id for s in page.value], page

    wanted = (datetime.now(timezone.utc) + timedelta(days=20)).replace(microsecond=0)
    renewed = await one.patch(Subscription(expiration_date_time=wanted))
    assert renewed.expiration_date_time == wanted, renewed.expiration_date_time
    print(f"renewed to {renewed.expiration_date_time}")
    await one.reauthorize.post()

    too_far = Subscription(change_type="updated", resource="users", notification_url=url,
                           expiration_date_time=now + timedelta(days=60), client_state="x")
    await refused("an expiry beyond 41760 minutes", client.subscriptions.post(too_far), 400, "ExtensionError")
    webhook = Subscription(change_type="updated", resource="users", notification_url="https://example.com/hook",
                           expiration_date_time=now + timedelta(days=1))
    await refused("a webhook notificationUrl", client.subscriptions.post(webhook), 400, "InvalidRequest")
    await refused("a PATCH of resource", one.patch(Subscription(resource="groups")), 400, "BadRequest")

    await one.delete()
    await refused("a deleted subscription", one.get(), 404, "ResourceNotFound")
    assert arm("GET", topic).status_code == 200, "DELETE leaves the partner topic"
    print("ALL OK")


asyncio.run(main())
