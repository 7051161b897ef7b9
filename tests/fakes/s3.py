"""A real S3 emulator (moto server) on 127.0.0.1, for Unity Catalog storage and SageMaker artifacts."""
import os
import signal
import subprocess
import sys
import time

import requests

from tests.servers import free_port

MOTO_BIN = os.path.join(os.path.dirname(sys.executable), "moto_server")
DUMMY_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}


class MotoS3:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.port = None
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=60):
        os.makedirs(self.log_dir, exist_ok=True)
        self.port = free_port()
        log = open(os.path.join(self.log_dir, "moto.log"), "ab")
        self.proc = subprocess.Popen([MOTO_BIN, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: see {self.log_dir}/moto.log")
            try:
                requests.get(self.url, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def create_bucket(self, name):
        import boto3
        s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=name)
        return name

    def keys(self, bucket, prefix=""):
        import boto3
        s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return keys

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
