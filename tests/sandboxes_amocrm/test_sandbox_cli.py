"""`python -m sandboxes.amocrm` starts a seeded sandbox that answers on loopback."""

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_the_demo_seed():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.amocrm", "--host", "127.0.0.1", "--port", "0", "--seed", "demo"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        url = banner.split(" on ")[1].split()[0]
        code = requests.post(f"{url}/_sandbox/codes", json={}, timeout=5).json()
        token = requests.post(f"{url}/oauth2/access_token", timeout=5, json={
            "client_id": "00000000-0000-4000-8000-000000000001",
            "client_secret": "payplan-local-amocrm-client-secret", "grant_type": "authorization_code",
            "code": code["code"], "redirect_uri": "http://127.0.0.1:8000/amocrm/oauth/callback"}).json()
        account = requests.get(f"{url}/api/v4/account", timeout=5,
                               headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    finally:
        process.terminate()
        process.wait(timeout=5)

    assert code["referer"] == url.removeprefix("http://")
    assert (account["id"], account["subdomain"]) == (31234567, "demo")
