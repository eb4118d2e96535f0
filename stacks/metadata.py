"""FIDO metadata kept fresh: the bucket that holds the verified MDS3 blob, the function that
refreshes it daily, and the alarm that says when a download was refused.

The function (tapgate_broker.metadata_refresh, the broker's code asset with another
handler) downloads the blob, verifies it and replaces the stored one only if it is good
and newer; every run emits one metric named after its outcome. The bucket is versioned,
so each blob ever stored can be recovered; only the function writes, and only that object.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.nag import acknowledge
from stacks.python_function import PythonFunction
from tapgate_contract import environment

OBJECT_KEY: Final = environment.METADATA_OBJECT_KEY
HANDLER: Final = "tapgate_broker.metadata_refresh.handler"
# The refresh function's environment: the contract's names, which the handler reads too.
ENV_BUCKET: Final = environment.METADATA_BUCKET
ENV_KEY: Final = environment.METADATA_KEY
ENV_URL: Final = environment.METADATA_URL
ENV_ROOT: Final = environment.METADATA_ROOT
# The metric the function emits for a refused download (Powertools: namespace + service).
METRIC_NAMESPACE: Final = "tapgate"
METRIC_SERVICE: Final = "tapgate-metadata"
REJECTED_METRIC: Final = "MetadataBlobRejected"
REFRESH_INTERVAL: Final = Duration.days(1)
# Old blobs stay recoverable this long after a newer one replaced them.
NONCURRENT_RETENTION: Final = Duration.days(400)


class MetadataRefresh(Construct):
    """Bucket, refresh function, daily schedule, rejected-download and error alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        blob_url: str,
        root_pem: str | None,
        encryption_key: kms.IKey | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption=(
                s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED
            ),
            encryption_key=encryption_key,
            bucket_key_enabled=encryption_key is not None,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=NONCURRENT_RETENTION,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "The bucket holds one public document (the FIDO MDS3 blob), written only by the "
            "refresh function, versioned; its API calls are in CloudTrail. Server access logs "
            "would need a second bucket for no additional evidence.",
        )
        environment = {
            "POWERTOOLS_SERVICE_NAME": METRIC_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRIC_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            ENV_BUCKET: self.bucket.bucket_name,
            ENV_KEY: OBJECT_KEY,
            ENV_URL: blob_url,
        }
        if root_pem is not None:
            environment[ENV_ROOT] = root_pem
        refresh = PythonFunction(
            self,
            "Refresh",
            handler=HANDLER,
            code=code,
            description="tapgate: download, verify and store the FIDO MDS3 metadata blob",
            role_description="tapgate metadata refresh: reads and replaces the stored MDS3 blob",
            memory_size=1024,  # the previous and the new blob, parsed: several times their size
            timeout=Duration.minutes(2),
            environment=environment,
        )
        self.function, self.role = refresh.function, refresh.role
        self._grant_object_access()
        self.schedule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(REFRESH_INTERVAL),
            description="tapgate: refresh the FIDO MDS3 metadata blob",
            targets=[
                targets.LambdaFunction(
                    self.function, retry_attempts=2, max_event_age=Duration.hours(6)
                )
            ],
        )
        self.rejected_alarm = cloudwatch.Alarm(
            self,
            "RejectedAlarm",
            alarm_description="tapgate: a downloaded FIDO metadata blob was refused (bad "
            "signature, old serial, past nextUpdate, unreachable); the stored blob was kept. "
            "The function's log says why.",
            metric=cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=REJECTED_METRIC,
                dimensions_map={"service": METRIC_SERVICE},
                statistic="Sum",
                period=REFRESH_INTERVAL,
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_description="tapgate: the metadata refresh function failed (S3 unreachable "
            "or a bug); no blob was refreshed.",
            metric=self.function.metric_errors(period=REFRESH_INTERVAL, statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic is not None:
            for alarm in (self.rejected_alarm, self.errors_alarm):
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))

    def _grant_object_access(self) -> None:
        """Read and replace the one object. ListBucket, limited to that key, makes a missing
        object answer 404 rather than 403, so the first refresh sees "nothing stored"."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[self.bucket.arn_for_objects(OBJECT_KEY)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [OBJECT_KEY]}},
            )
        )
