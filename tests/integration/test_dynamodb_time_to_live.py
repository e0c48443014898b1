"""DynamoDB time to live: UpdateTimeToLive and DescribeTimeToLive through
the AWS CLI and boto3 with DynamoDB's errors, and expired items deleted in
the background (here searched for twice a second), without capacity, with
their index entries, and counted in CloudWatch's TimeToLiveDeletedItemCount."""

import datetime
import time

import pytest

from dynamodb_support import make_table, validation
from nimbus_harness import NimbusServer


@pytest.fixture(scope="module")
def server():
    with NimbusServer("--dynamodb-ttl-interval", "0.5") as nimbus:
        yield nimbus


def describe_ttl(ddb, table):
    return ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]


def test_time_to_live_is_turned_on_and_off_as_dynamodb_allows(server):
    ddb = server.client("dynamodb")
    table = make_table(ddb)
    assert describe_ttl(ddb, table) == {"TimeToLiveStatus": "DISABLED"}

    out = server.aws("dynamodb", "update-time-to-live", "--table-name", table,
                     "--time-to-live-specification", "Enabled=true,AttributeName=expires")
    assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert describe_ttl(ddb, table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    on = {"Enabled": True, "AttributeName": "other"}
    assert validation(ddb.update_time_to_live, TableName=table,
                      TimeToLiveSpecification=on) == "TimeToLive is already enabled"
    off_other = {"Enabled": False, "AttributeName": "other"}
    assert validation(ddb.update_time_to_live, TableName=table, TimeToLiveSpecification=off_other) == \
        "TimeToLive is active on a different AttributeName: current AttributeName is expires"
    off = {"Enabled": False, "AttributeName": "expires"}
    assert ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=off)[
        "TimeToLiveSpecification"] == off
    assert describe_ttl(ddb, table) == {"TimeToLiveStatus": "DISABLED"}
    assert validation(ddb.update_time_to_live, TableName=table,
                      TimeToLiveSpecification=off) == "TimeToLive is already disabled"


def test_expired_items_are_deleted_and_counted(server):
    ddb = server.client("dynamodb")
    table = make_table(ddb)
    now = int(time.time())
    items = {
        "past": {"N": str(now - 10)},
        "soon": {"N": str(now + 2)},
        "future": {"N": str(now + 3600)},
        "text": {"S": str(now - 10)},           # not a number: never expires
        "ancient": {"N": str(now - 6 * 365 * 86400)},  # over five years past: left alone
    }
    for key, expires in items.items():
        ddb.put_item(TableName=table, Item={"pk": {"S": key}, "expires": expires})
    ddb.put_item(TableName=table, Item={"pk": {"S": "none"}})
    ddb.update_time_to_live(TableName=table,
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})

    def keys():
        return sorted(item["pk"]["S"] for item in ddb.scan(TableName=table, ConsistentRead=True)["Items"])

    deadline = time.time() + 15
    while keys() != ["ancient", "future", "none", "text"] and time.time() < deadline:
        time.sleep(0.2)
    assert keys() == ["ancient", "future", "none", "text"]
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 4

    # A write that moves the expiry forward keeps the item.
    ddb.put_item(TableName=table, Item={"pk": {"S": "renewed"}, "expires": {"N": str(now + 3600)}})
    time.sleep(1.5)
    assert "renewed" in keys()

    cw = server.client("cloudwatch")
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    deadline = time.time() + 10
    while True:
        points = cw.get_metric_statistics(
            Namespace="AWS/DynamoDB", MetricName="TimeToLiveDeletedItemCount",
            Dimensions=[{"Name": "TableName", "Value": table}], StartTime=start,
            EndTime=start + datetime.timedelta(minutes=10), Period=600, Statistics=["Sum"])["Datapoints"]
        if sum(p["Sum"] for p in points) >= 2 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert sum(p["Sum"] for p in points) == 2
    # Deleting expired items consumes no capacity: only the seven puts did.
    written = cw.get_metric_statistics(
        Namespace="AWS/DynamoDB", MetricName="ConsumedWriteCapacityUnits",
        Dimensions=[{"Name": "TableName", "Value": table}], StartTime=start,
        EndTime=start + datetime.timedelta(minutes=10), Period=600, Statistics=["Sum"])["Datapoints"]
    assert sum(p["Sum"] for p in written) == 7


def test_time_to_live_survives_a_restart(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        ddb = first.client("dynamodb")
        table = make_table(ddb)
        ddb.update_time_to_live(TableName=table,
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    with NimbusServer("--dynamodb-ttl-interval", "0.5", data_dir=tmp_path) as again:
        ddb = again.client("dynamodb")
        assert describe_ttl(ddb, table) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
        ddb.put_item(TableName=table, Item={"pk": {"S": "gone"}, "ttl": {"N": str(int(time.time()) - 1)}})
        deadline = time.time() + 10
        while ddb.scan(TableName=table)["Count"] and time.time() < deadline:
            time.sleep(0.2)
        assert ddb.scan(TableName=table)["Count"] == 0


def test_expired_items_leave_the_tables_indexes_too(server):
    ddb = server.client("dynamodb")
    table = make_table(ddb)
    ddb.update_table(TableName=table,
                     AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "byOwner",
                         "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    ddb.update_time_to_live(TableName=table,
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    now = int(time.time())
    ddb.put_item(TableName=table, Item={"pk": {"S": "gone"}, "owner": {"S": "ann"},
                                        "expires": {"N": str(now - 10)}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "kept"}, "owner": {"S": "ann"},
                                        "expires": {"N": str(now + 3600)}})

    def owned():
        try:
            return sorted(i["pk"]["S"] for i in ddb.query(
                TableName=table, IndexName="byOwner", KeyConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": {"S": "ann"}})["Items"])
        except ddb.exceptions.ClientError:
            return None  # still backfilling

    deadline = time.time() + 20
    while owned() != ["kept"]:
        assert time.time() < deadline, owned()
        time.sleep(0.2)
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "gone"}})
