"""DynamoDB tables through boto3 and the AWS CLI: create, describe, list,
update, delete, tags, limits, and persistence across a restart."""

import pytest

from dynamodb_support import ddb, error_of, make_table, server, unique, validation  # noqa: F401
from nimbus_harness import NimbusServer


def test_create_table_describes_the_table_as_dynamodb_does(ddb):
    name = unique()
    created = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
        Tags=[{"Key": "team", "Value": "a"}])["TableDescription"]
    assert created["TableName"] == name
    assert created["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    assert created["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert created["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert created["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    assert created["ItemCount"] == 0 and created["TableSizeBytes"] == 0
    assert len(created["TableId"]) == 36
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["TableId"] == created["TableId"]
    assert described["CreationDateTime"] == created["CreationDateTime"]
    assert "BillingModeSummary" not in described  # PROVISIONED and never changed
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_pay_per_request_tables_report_their_billing_mode(ddb):
    name = make_table(ddb)
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 0


def test_item_count_and_size_follow_the_items(ddb):
    name = make_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "abc"}, "data": {"S": "12345"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "def"}})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ItemCount"] == 2
    # Names plus values in UTF-8 bytes: (2 + 3) + (4 + 5) + (2 + 3).
    assert table["TableSizeBytes"] == 19


@pytest.mark.parametrize("kwargs, message", [
    (dict(KeySchema=[{"AttributeName": "pk", "KeyType": "RANGE"}]),
     "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
    (dict(KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                     {"AttributeName": "pk", "KeyType": "RANGE"}]),
     "Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    (dict(AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}]),
     "One or more parameter values were invalid: Some index key attributes are not defined in "
     "AttributeDefinitions. Keys: [pk], AttributeDefinitions: [other]"),
    (dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                {"AttributeName": "extra", "AttributeType": "S"}]),
     "One or more parameter values were invalid: Number of attributes in KeySchema does not "
     "exactly match number of attributes defined in AttributeDefinitions"),
    (dict(BillingMode="PROVISIONED"),
     "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must "
     "both be specified when BillingMode is PROVISIONED"),
])
def test_create_table_validates_as_dynamodb_does(ddb, kwargs, message):
    request = dict(TableName=unique(),
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   BillingMode="PAY_PER_REQUEST")
    request.update(kwargs)
    assert validation(ddb.create_table, **request) == message


def test_a_second_table_of_the_same_name_is_in_use(ddb):
    name = make_table(ddb)
    code, message, status = error_of(
        ddb.create_table, TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    assert (code, message, status) == ("ResourceInUseException", f"Table already exists: {name}", 400)


def test_missing_tables_are_resource_not_found(ddb):
    assert error_of(ddb.describe_table, TableName="no-such-table") == (
        "ResourceNotFoundException", "Requested resource not found: Table: no-such-table not found", 400)
    assert error_of(ddb.get_item, TableName="no-such-table", Key={"pk": {"S": "a"}})[:2] == (
        "ResourceNotFoundException", "Requested resource not found")


def test_list_tables_pages_in_name_order(ddb):
    prefix = unique("list")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in reversed(names):
        make_table(ddb, name=name)
    seen = []
    start = None
    while True:
        kwargs = {"Limit": 2}
        if start:
            kwargs["ExclusiveStartTableName"] = start
        page = ddb.list_tables(**kwargs)
        seen += page["TableNames"]
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
        assert len(page["TableNames"]) == 2
    assert [n for n in seen if n.startswith(prefix)] == names
    assert seen == sorted(seen)
    # The paginator the CLI uses gets the same.
    everything = ddb.get_paginator("list_tables").paginate().build_full_result()["TableNames"]
    assert [n for n in everything if n.startswith(prefix)] == names


def test_delete_table_removes_it_and_its_items(ddb):
    name = make_table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    deleted = ddb.delete_table(TableName=name)["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    assert error_of(ddb.describe_table, TableName=name)[0] == "ResourceNotFoundException"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    # A new table of the same name starts empty.
    make_table(ddb, name=name)
    assert ddb.scan(TableName=name)["Items"] == []
    assert error_of(ddb.delete_table, TableName="gone-table")[0] == "ResourceNotFoundException"


def test_update_table_switches_billing_and_throughput(ddb):
    name = make_table(ddb)
    updated = ddb.update_table(TableName=name, BillingMode="PROVISIONED",
                               ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    table = updated["TableDescription"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert validation(ddb.update_table, TableName=name).startswith("At least one of")
    message = validation(ddb.update_table, TableName=name,
                         ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    assert message.startswith("The provisioned throughput for the table will not change.")


def test_tags_are_added_listed_and_removed(ddb):
    name = make_table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "3"}])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    missing = arn.replace(name, "nope-table")
    assert error_of(ddb.list_tags_of_resource, ResourceArn=missing)[0] == "ResourceNotFoundException"


def test_limits_endpoints_and_unimplemented_operations(ddb):
    limits = ddb.describe_limits()
    assert limits["TableMaxWriteCapacityUnits"] == 40000
    endpoints = ddb.describe_endpoints()["Endpoints"]
    assert endpoints[0]["CachePeriodInMinutes"] == 1440
    code, message, status = error_of(ddb.list_backups)
    assert (code, status) == ("NotImplementedException", 501)


def test_the_aws_cli_creates_and_describes_tables(server):
    name = unique()
    server.aws("dynamodb", "create-table", "--table-name", name,
               "--attribute-definitions", "AttributeName=id,AttributeType=N",
               "--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    server.aws("dynamodb", "wait", "table-exists", "--table-name", name)
    described = server.aws("dynamodb", "describe-table", "--table-name", name)["Table"]
    assert described["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "N"}]
    assert name in server.aws("dynamodb", "list-tables")["TableNames"]


def test_tables_and_items_survive_a_restart(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        ddb = first.client("dynamodb")
        name = make_table(ddb, range_type="N")
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"SS": ["x", "y"]}})
    with NimbusServer(data_dir=tmp_path) as second:
        ddb = second.client("dynamodb")
        assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 1
        item = ddb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
        assert sorted(item["v"]["SS"]) == ["x", "y"]
