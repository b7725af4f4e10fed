"""DOCUMENTS_STORAGE=s3 points the documents storage at an S3-compatible bucket by env alone."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django, json
django.setup()
from django.core.files.storage import storages
storage = storages["documents"]
print(json.dumps({"class": type(storage).__module__ + "." + type(storage).__name__, "bucket": storage.bucket_name,
                  "endpoint": storage.endpoint_url, "location": storage.location, "acl": storage.default_acl}))
"""


def test_s3_is_chosen_by_env_with_private_objects():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DOCUMENTS_STORAGE": "s3",
           "DOCUMENTS_S3_BUCKET": "payplan-docs", "DOCUMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
           "DOCUMENTS_S3_ACCESS_KEY": "test", "DOCUMENTS_S3_SECRET_KEY": "test"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "class": "storages.backends.s3.S3Storage", "bucket": "payplan-docs", "endpoint": "http://127.0.0.1:9000",
        "location": "documents", "acl": "private"}


def test_the_local_filesystem_is_the_default():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DOCUMENTS_ROOT": "/tmp/payplan-docs"}
    env.pop("DOCUMENTS_STORAGE", None)
    probe = ("import django; django.setup(); from django.core.files.storage import storages; "
             "s = storages['documents']; print(type(s).__name__, s.location)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip().splitlines()[-1] == "FileSystemStorage /tmp/payplan-docs"
