"""Run the LocalStack runtime in the foreground, as `python -m localstack.runtime.main` does, but
with S3's object store under this run's data dir.

LocalStack 2026.3.0 hard-codes S3 object storage to /tmp/localstack-s3-storage
(localstack.services.s3.provider.DEFAULT_S3_TMP_DIR), which every LocalStack on the machine would
share. The provider reads the module attribute when it is instantiated (lazily, at the first S3
request), so setting it here, before the runtime starts, is enough. Started by start.sh, which
passes the directory in NC_LS_S3_TMP_DIR.
"""

import os
import runpy

import localstack.services.s3.provider as s3_provider

s3_provider.DEFAULT_S3_TMP_DIR = os.environ["NC_LS_S3_TMP_DIR"]
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
