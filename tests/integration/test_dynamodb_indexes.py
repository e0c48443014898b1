"""DynamoDB secondary indexes through boto3 and the AWS CLI: CreateTable's
GlobalSecondaryIndexes and LocalSecondaryIndexes as DescribeTable shows
them, every write keeping the indexes (sparse, moved, removed), Query and
Scan of an index with sort key conditions, projections, pagination and
parallel segments, DynamoDB's errors, and indexes kept across a restart."""

import random
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError

from dynamodb_support import ddb, error_of, server, unique, validation  # noqa: F401
from nimbus_harness import NimbusServer


def indexed_table(ddb, name=None, billing="PAY_PER_REQUEST"):
    """pk/sk table with byStatus (status, due: ALL), byOwner (owner,
    KEYS_ONLY) and the local byTitle (pk, title: INCLUDE extra)."""
    name = name or unique()
    throughput = {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    gsi = [
        {"IndexName": "byStatus",
         "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                       {"AttributeName": "due", "KeyType": "RANGE"}],
         "Projection": {"ProjectionType": "ALL"}},
        {"IndexName": "byOwner",
         "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "KEYS_ONLY"}},
    ]
    extra = {}
    if billing == "PROVISIONED":
        for index in gsi:
            index["ProvisionedThroughput"] = throughput
        extra["ProvisionedThroughput"] = throughput
    ddb.create_table(
        TableName=name, BillingMode=billing, **extra,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              [("pk", "S"), ("sk", "S"), ("status", "S"), ("due", "N"),
                               ("owner", "S"), ("title", "S")]],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=gsi,
        LocalSecondaryIndexes=[
            {"IndexName": "byTitle",
             "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "title", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}}])
    return name


def task(sk, status=None, due=None, owner=None, title=None, pk="p", **more):
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    for name, value in [("status", status), ("owner", owner), ("title", title)]:
        if value is not None:
            item[name] = {"S": value}
    if due is not None:
        item["due"] = {"N": str(due)}
    for name, value in more.items():
        item[name] = {"S": value}
    return item


def by_status(ddb, table, status, condition="", values=None, **kwargs):
    expression = "#s = :s" + (f" AND {condition}" if condition else "")
    attribute_values = {":s": {"S": status}, **(values or {})}
    items = ddb.query(TableName=table, IndexName="byStatus", KeyConditionExpression=expression,
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues=attribute_values, **kwargs)["Items"]
    return [i["sk"]["S"] for i in items]


def test_create_table_with_global_and_local_indexes_and_describe_them(ddb, server):
    table = indexed_table(ddb, billing="PROVISIONED")
    described = ddb.describe_table(TableName=table)["Table"]
    arn = described["TableArn"]
    globals_ = {i["IndexName"]: i for i in described["GlobalSecondaryIndexes"]}
    assert set(globals_) == {"byStatus", "byOwner"}
    status = globals_["byStatus"]
    assert status["KeySchema"] == [{"AttributeName": "status", "KeyType": "HASH"},
                                   {"AttributeName": "due", "KeyType": "RANGE"}]
    assert status["Projection"] == {"ProjectionType": "ALL"}
    assert status["IndexStatus"] == "ACTIVE"
    assert status["IndexArn"] == f"{arn}/index/byStatus"
    assert status["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert status["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    assert globals_["byOwner"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    (local,) = described["LocalSecondaryIndexes"]
    assert local["IndexName"] == "byTitle"
    assert local["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["extra"]}
    assert "IndexStatus" not in local
    assert local["IndexArn"] == f"{arn}/index/byTitle"
    # The AWS CLI reads the same description.
    cli = server.aws("dynamodb", "describe-table", "--table-name", table)["Table"]
    assert [i["IndexName"] for i in cli["GlobalSecondaryIndexes"]] == ["byStatus", "byOwner"]


def test_every_write_keeps_the_indexes(ddb):
    table = indexed_table(ddb)
    ddb.put_item(TableName=table, Item=task("a", status="open", due=3, owner="ann"))
    ddb.put_item(TableName=table, Item=task("b", status="open", due=1))
    ddb.put_item(TableName=table, Item=task("c", owner="bob"))  # not in byStatus: sparse
    ddb.put_item(TableName=table, Item=task("d", status="done", due=2))
    assert by_status(ddb, table, "open") == ["b", "a"]
    assert by_status(ddb, table, "done") == ["d"]

    # A put replacing an item moves its entry; an update moves it and
    # removing the attribute takes it out.
    ddb.put_item(TableName=table, Item=task("b", status="done", due=5))
    ddb.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
                    UpdateExpression="SET #s = :d, due = :n",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":d": {"S": "done"}, ":n": {"N": "0"}})
    assert by_status(ddb, table, "open") == []
    assert by_status(ddb, table, "done") == ["a", "d", "b"]
    ddb.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "d"}},
                    UpdateExpression="REMOVE due")
    assert by_status(ddb, table, "done") == ["a", "b"]
    # The entry carries the item as it is now (ALL projection).
    ddb.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
                    UpdateExpression="SET note = :n", ExpressionAttributeValues={":n": {"S": "hi"}})
    items = ddb.query(TableName=table, IndexName="byStatus",
                      KeyConditionExpression="#s = :s AND due = :z",
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":s": {"S": "done"}, ":z": {"N": "0"}})["Items"]
    assert items == [task("a", status="done", due=0, owner="ann", note="hi")]

    ddb.delete_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})
    assert by_status(ddb, table, "done") == ["b"]

    # BatchWriteItem and TransactWriteItems keep them too.
    ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": task("e", status="open", due=7)}},
        {"PutRequest": {"Item": task("f", status="open", due=6)}},
        {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "b"}}}},
    ]})
    assert by_status(ddb, table, "open") == ["f", "e"]
    assert by_status(ddb, table, "done") == []
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": task("g", status="open", due=9)}},
        {"Update": {"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"S": "e"}},
                    "UpdateExpression": "SET #s = :d", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":d": {"S": "done"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"S": "f"}}}},
    ])
    assert by_status(ddb, table, "open") == ["g"]
    assert by_status(ddb, table, "done") == ["e"]
    owners = ddb.query(TableName=table, IndexName="byOwner", KeyConditionExpression="#o = :o",
                       ExpressionAttributeNames={"#o": "owner"},
                       ExpressionAttributeValues={":o": {"S": "bob"}})["Items"]
    assert owners == [{"pk": {"S": "p"}, "sk": {"S": "c"}, "owner": {"S": "bob"}}]


@pytest.fixture(scope="module")
def ranked(ddb):
    """Items under status "s" whose due values repeat: 1, 2, 2, 3, 3, 3, 4,
    across two partitions of the table, and one under another status."""
    table = indexed_table(ddb)
    dues = [1, 2, 2, 3, 3, 3, 4]
    for n, due in enumerate(dues):
        ddb.put_item(TableName=table, Item=task(f"i{n}", status="s", due=due, pk=f"p{n % 2}"))
    ddb.put_item(TableName=table, Item=task("other", status="t", due=3))
    return table, dues


@pytest.mark.parametrize("condition, values, expected_dues", [
    ("due = :a", {":a": 3}, [3, 3, 3]),
    ("due < :a", {":a": 3}, [1, 2, 2]),
    ("due <= :a", {":a": 3}, [1, 2, 2, 3, 3, 3]),
    ("due > :a", {":a": 2}, [3, 3, 3, 4]),
    ("due >= :a", {":a": 2}, [2, 2, 3, 3, 3, 4]),
    ("due BETWEEN :a AND :b", {":a": 2, ":b": 3}, [2, 2, 3, 3, 3]),
])
def test_sort_key_conditions_on_an_index_cover_items_sharing_an_index_key(ddb, ranked, condition,
                                                                          values, expected_dues):
    table, _ = ranked
    items = ddb.query(TableName=table, IndexName="byStatus",
                      KeyConditionExpression=f"#s = :s AND {condition}",
                      ExpressionAttributeNames={"#s": "status"},
                      ExpressionAttributeValues={":s": {"S": "s"},
                                                 **{k: {"N": str(v)} for k, v in values.items()}})
    assert [int(i["due"]["N"]) for i in items["Items"]] == expected_dues
    backwards = ddb.query(TableName=table, IndexName="byStatus", ScanIndexForward=False,
                          KeyConditionExpression=f"#s = :s AND {condition}",
                          ExpressionAttributeNames={"#s": "status"},
                          ExpressionAttributeValues={":s": {"S": "s"},
                                                     **{k: {"N": str(v)} for k, v in values.items()}})
    assert backwards["Items"] == list(reversed(items["Items"]))


def test_index_pages_resume_from_last_evaluated_key(ddb, ranked):
    table, dues = ranked
    seen, start, pages = [], None, 0
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=table, IndexName="byStatus", Limit=2,
                         KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
                         ExpressionAttributeValues={":s": {"S": "s"}}, **kwargs)
        seen += page["Items"]
        pages += 1
        start = page.get("LastEvaluatedKey")
        if start:
            # The table's key and the index's.
            assert set(start) == {"pk", "sk", "status", "due"}
        else:
            break
    assert pages == 4
    assert sorted(i["sk"]["S"] for i in seen) == [f"i{n}" for n in range(len(dues))]
    assert [int(i["due"]["N"]) for i in seen] == dues

    # Scan of the index: every entry once, in pages and in parallel segments.
    scanned, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.scan(TableName=table, IndexName="byStatus", Limit=3, **kwargs)
        scanned += [i["sk"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(scanned) == sorted([f"i{n}" for n in range(len(dues))] + ["other"])
    segments = [[i["sk"]["S"] for i in ddb.scan(TableName=table, IndexName="byStatus",
                                                  Segment=s, TotalSegments=3)["Items"]]
                for s in range(3)]
    assert sorted(sum(segments, [])) == sorted(scanned)


def test_projections_and_what_each_index_may_return(ddb):
    table = indexed_table(ddb)
    ddb.put_item(TableName=table, Item=task("a", owner="ann", title="t1", extra="x", big="y"))
    keys_only = ddb.query(TableName=table, IndexName="byOwner", KeyConditionExpression="#o = :o",
                          ExpressionAttributeNames={"#o": "owner"},
                          ExpressionAttributeValues={":o": {"S": "ann"}})
    assert keys_only["Items"] == [{"pk": {"S": "p"}, "sk": {"S": "a"}, "owner": {"S": "ann"}}]
    assert validation(ddb.query, TableName=table, IndexName="byOwner", Select="ALL_ATTRIBUTES",
                      KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                      ExpressionAttributeValues={":o": {"S": "ann"}}) == (
        "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for "
        "global secondary index byOwner because its projection type is not ALL")
    assert validation(ddb.query, TableName=table, IndexName="byOwner", ConsistentRead=True,
                      KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                      ExpressionAttributeValues={":o": {"S": "ann"}}) == \
        "Consistent reads are not supported on global secondary indexes"
    count = ddb.query(TableName=table, IndexName="byOwner", Select="COUNT",
                      KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
                      ExpressionAttributeValues={":o": {"S": "ann"}})
    assert count["Count"] == 1 and "Items" not in count

    # The local index keeps its INCLUDE attribute, and reads the rest of
    # the item from the table when asked for all of it.
    title = {"KeyConditionExpression": "pk = :p AND title = :t",
             "ExpressionAttributeValues": {":p": {"S": "p"}, ":t": {"S": "t1"}}}
    projected = ddb.query(TableName=table, IndexName="byTitle", **title)["Items"]
    assert projected == [{"pk": {"S": "p"}, "sk": {"S": "a"}, "title": {"S": "t1"},
                          "extra": {"S": "x"}}]
    whole = ddb.query(TableName=table, IndexName="byTitle", Select="ALL_ATTRIBUTES",
                      ConsistentRead=True, **title)["Items"]
    assert whole == [task("a", owner="ann", title="t1", extra="x", big="y")]
    assert ddb.query(TableName=table, IndexName="byTitle", ProjectionExpression="big",
                     **title)["Items"] == [{"big": {"S": "y"}}]
    assert validation(ddb.query, TableName=table, Select="ALL_PROJECTED_ATTRIBUTES",
                      KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "p"}}) == (
        "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is "
        "supported only when Querying using an IndexName")
    # A key condition names the index's keys, not the table's.
    assert validation(ddb.query, TableName=table, IndexName="byStatus",
                      KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "p"}}) == \
        "Query condition missed key schema element: status"


def test_writes_with_bad_index_keys_are_refused_and_change_nothing(ddb):
    table = indexed_table(ddb)
    assert validation(ddb.put_item, TableName=table, Item={**task("a"), "due": {"S": "soon"}}) == (
        "One or more parameter values were invalid: Type mismatch for Index Key due Expected: N "
        "Actual: S IndexName: byStatus")
    assert validation(ddb.put_item, TableName=table, Item=task("a", owner="")) == (
        "One or more parameter values are not valid. A value specified for a secondary index key "
        "is not supported. The AttributeValue for a key attribute cannot contain an empty string "
        "value. IndexName: byOwner, IndexKey: owner")
    ddb.put_item(TableName=table, Item=task("a", owner="ann"))
    assert validation(ddb.update_item, TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
                      UpdateExpression="SET #o = :n", ExpressionAttributeNames={"#o": "owner"},
                      ExpressionAttributeValues={":n": {"N": "1"}}).startswith(
        "One or more parameter values were invalid: Type mismatch for Index Key owner")
    assert validation(ddb.batch_write_item, RequestItems={table: [
        {"PutRequest": {"Item": {**task("b"), "title": {"N": "2"}}}}]}).startswith(
        "One or more parameter values were invalid: Type mismatch for Index Key title")
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"] == \
        task("a", owner="ann")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "b"}})


def test_index_writes_consume_capacity(ddb):
    table = indexed_table(ddb)
    # In byStatus and byOwner (1 unit each) besides the table: 3 in all.
    put = ddb.put_item(TableName=table, Item=task("a", status="open", due=1, owner="ann"),
                       ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert put["CapacityUnits"] == 3.0
    assert put["Table"] == {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}
    assert put["GlobalSecondaryIndexes"] == {
        "byStatus": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0},
        "byOwner": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}}
    assert "LocalSecondaryIndexes" not in put
    # Not indexed anywhere: the table's unit only.
    plain = ddb.put_item(TableName=table, Item=task("b"), ReturnConsumedCapacity="TOTAL")
    assert plain["ConsumedCapacity"]["CapacityUnits"] == 1.0
    # Moving the byStatus entry deletes one entry and writes another.
    moved = ddb.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
                            UpdateExpression="SET due = :n", ExpressionAttributeValues={":n": {"N": "2"}},
                            ReturnConsumedCapacity="TOTAL")
    assert moved["ConsumedCapacity"]["CapacityUnits"] == 3.0
    # A read of an index is the index's; a local index's writes are listed as local.
    queried = ddb.query(TableName=table, IndexName="byStatus", KeyConditionExpression="#s = :s",
                        ExpressionAttributeNames={"#s": "status"},
                        ExpressionAttributeValues={":s": {"S": "open"}},
                        ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert queried["CapacityUnits"] == 0.5
    assert queried["Table"] == {"CapacityUnits": 0.0}
    assert queried["GlobalSecondaryIndexes"] == {
        "byStatus": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}}
    titled = ddb.put_item(TableName=table, Item=task("c", title="t"),
                          ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert titled["LocalSecondaryIndexes"] == {
        "byTitle": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}}
    assert titled["CapacityUnits"] == 2.0
    batch = ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": task("d", owner="bob")}}]},
        ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert batch == [{"TableName": table, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0,
                      "Table": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0},
                      "GlobalSecondaryIndexes": {
                          "byOwner": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}}}]


@pytest.mark.parametrize("change, message", [
    ({"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]},
     "One or more parameter values were invalid: Some index key attributes are not defined in "
     "AttributeDefinitions. Keys: [pk, g], AttributeDefinitions: [pk]"),
    ({"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                               {"AttributeName": "g", "AttributeType": "S"},
                               {"AttributeName": "x", "AttributeType": "S"}]},
     "One or more parameter values were invalid: Number of attributes in KeySchema does not "
     "exactly match number of attributes defined in AttributeDefinitions"),
    ({"GlobalSecondaryIndexes": [
        {"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"}},
        {"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "ALL"}}]},
     "One or more parameter values were invalid: Duplicate index name: gix"),
    ({"GlobalSecondaryIndexes": [
        {"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
         "Projection": {"ProjectionType": "INCLUDE"}}]},
     "One or more parameter values were invalid: ProjectionType is INCLUDE, but NonKeyAttributes "
     "is not specified"),
    ({"BillingMode": "PROVISIONED",
      "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
     "One or more parameter values were invalid: ProvisionedThroughput must be specified for "
     "index: gix"),
    ({"LocalSecondaryIndexes": [
        {"IndexName": "lix", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                          {"AttributeName": "g", "KeyType": "RANGE"}],
         "Projection": {"ProjectionType": "ALL"}}]},
     "One or more parameter values were invalid: Table KeySchema does not have a range key, "
     "which is required when specifying a LocalSecondaryIndex"),
])
def test_create_table_refuses_bad_indexes(ddb, change, message):
    request = {
        "TableName": unique(), "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                 {"AttributeName": "g", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {"IndexName": "gix", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}}],
        **change}
    assert validation(ddb.create_table, **request) == message
    assert request["TableName"] not in ddb.list_tables()["TableNames"]


def test_a_local_index_shares_the_tables_partition_key(ddb):
    code, message, _ = error_of(
        ddb.create_table, TableName=unique(), BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "o")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[{"IndexName": "lix",
                                "KeySchema": [{"AttributeName": "o", "KeyType": "HASH"},
                                              {"AttributeName": "sk", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    assert code == "ValidationException"
    assert message == ("One or more parameter values were invalid: Index KeySchema does not have "
                       "the same leading hash key as table KeySchema for index: lix. index hash key: "
                       "o, table hash key: pk")


def test_update_table_billing_mode_with_global_indexes(ddb):
    provisioned = indexed_table(ddb, billing="PROVISIONED")
    ddb.update_table(TableName=provisioned, BillingMode="PAY_PER_REQUEST")
    described = ddb.describe_table(TableName=provisioned)["Table"]
    for index in described["GlobalSecondaryIndexes"]:
        assert index["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    # Back to provisioned, each global index needs its own throughput.
    assert validation(ddb.update_table, TableName=provisioned, BillingMode="PROVISIONED",
                      ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}) == (
        "One or more parameter values were invalid: ProvisionedThroughput must be specified for "
        "index: byStatus")
    assert validation(ddb.update_table, TableName=provisioned, GlobalSecondaryIndexUpdates=[
        {"Update": {"IndexName": "byOwner",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}}}]) == (
        "One or more parameter values were invalid: ProvisionedThroughput should not be specified "
        "for index: byOwner when BillingMode is PAY_PER_REQUEST")


def wait_active(ddb, table, timeout=30):
    deadline = time.time() + timeout
    while True:
        described = ddb.describe_table(TableName=table)["Table"]
        statuses = [i["IndexStatus"] for i in described.get("GlobalSecondaryIndexes", [])]
        if all(status == "ACTIVE" for status in statuses):
            return described
        assert time.time() < deadline, statuses
        time.sleep(0.05)


def by_color(ddb, table, color, index="byColor"):
    items, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=table, IndexName=index, KeyConditionExpression="color = :c",
                         ExpressionAttributeValues={":c": {"S": color}}, **kwargs)
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def expected_by_color(ddb, table):
    """color -> sorted sort keys, from a scan of the table itself."""
    expected = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if "color" in item and "n" in item:
                expected.setdefault(item["color"]["S"], []).append(item["sk"]["S"])
    return {color: sorted(sks) for color, sks in expected.items()}


COLORS = ["red", "green", "blue"]


def test_update_table_creates_a_global_index_over_existing_items_while_writes_go_on(ddb):
    table = unique()
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    for n in range(400):
        item = {"pk": {"S": f"p{n % 7}"}, "sk": {"S": f"s{n:04}"}, "n": {"N": str(n)}}
        if n % 5:
            item["color"] = {"S": COLORS[n % 3]}
        ddb.put_item(TableName=table, Item=item)

    # Writers recolour, add and delete items throughout the backfill.
    stop = threading.Event()
    errors = []

    def write(seed):
        rng = random.Random(seed)
        while not stop.is_set():
            n = rng.randrange(500)
            key = {"pk": {"S": f"p{n % 7}"}, "sk": {"S": f"s{n:04}"}}
            try:
                if rng.random() < 0.1:
                    ddb.delete_item(TableName=table, Key=key)
                else:
                    ddb.update_item(TableName=table, Key=key, UpdateExpression="SET color = :c, n = :n",
                                    ExpressionAttributeValues={":c": {"S": rng.choice(COLORS)},
                                                               ":n": {"N": str(n)}})
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)

    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(3)]
    for writer in writers:
        writer.start()
    try:
        time.sleep(0.2)
        answer = ddb.update_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"},
                                  {"AttributeName": "n", "AttributeType": "N"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "byColor",
                "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"},
                              {"AttributeName": "n", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}}])["TableDescription"]
        (created,) = answer["GlobalSecondaryIndexes"]
        assert created["IndexStatus"] in ("CREATING", "ACTIVE")
        # Until the backfill ends the index cannot be read (it may end any moment).
        try:
            ddb.query(TableName=table, IndexName="byColor", KeyConditionExpression="color = :c",
                      ExpressionAttributeValues={":c": {"S": "red"}})
        except ClientError as error:
            assert error.response["Error"]["Message"] == \
                "Cannot read from backfilling global secondary index: byColor"
        described = wait_active(ddb, table)
        time.sleep(0.3)  # writes go on against the active index
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert not errors, errors[:3]
    assert {d["AttributeName"] for d in described["AttributeDefinitions"]} == {"pk", "sk", "color", "n"}
    expected = expected_by_color(ddb, table)
    for color in COLORS:
        got = by_color(ddb, table, color)
        assert sorted(i["sk"]["S"] for i in got) == expected.get(color, [])
        # Ordered by the index's sort key.
        assert [int(i["n"]["N"]) for i in got] == sorted(int(i["n"]["N"]) for i in got)

    # Deleted: gone from the description, its definitions with it, and unreadable.
    after = ddb.update_table(TableName=table, GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "byColor"}}])["TableDescription"]
    assert "GlobalSecondaryIndexes" not in after
    assert {d["AttributeName"] for d in after["AttributeDefinitions"]} == {"pk", "sk"}
    assert validation(ddb.query, TableName=table, IndexName="byColor",
                      KeyConditionExpression="color = :c",
                      ExpressionAttributeValues={":c": {"S": "red"}}) == \
        "The table does not have the specified index: byColor"
    # Created again under the same name with another key: none of the old entries.
    ddb.update_table(TableName=table,
                     AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "byColor",
                         "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}}}])
    wait_active(ddb, table)
    colored = {color: sorted(i["sk"]["S"] for i in by_color(ddb, table, color)) for color in COLORS}
    assert colored == {color: sorted(sks) for color, sks in expected.items()}


def test_update_table_index_errors(ddb):
    table = indexed_table(ddb)
    create = {"Create": {"IndexName": "byTitle2",
                         "KeySchema": [{"AttributeName": "title", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "ALL"}}}
    code, message, status = error_of(ddb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[
        create, {"Delete": {"IndexName": "byOwner"}}])
    assert (code, status) == ("LimitExceededException", 400)
    assert message == ("Subscriber limit exceeded: Only 1 online index can be created or deleted "
                       "simultaneously per table")
    code, message, status = error_of(ddb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "nope"}}])
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert validation(ddb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[{"Create": {
        "IndexName": "byColor", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}}]) == (
        "One or more parameter values were invalid: Some index key attributes are not defined in "
        "AttributeDefinitions. Keys: [color], AttributeDefinitions: []")
    assert validation(ddb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[{"Create": {
        **create["Create"], "IndexName": "byOwner"}}]) == \
        "One or more parameter values were invalid: Index with name byOwner already exists"
    # The local index cannot be deleted; nothing changed.
    code, _, _ = error_of(ddb.update_table, TableName=table, GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "byTitle"}}])
    assert code == "ResourceNotFoundException"
    described = ddb.describe_table(TableName=table)["Table"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["byStatus", "byOwner"]


def test_a_recreated_table_starts_with_empty_indexes(ddb):
    name = indexed_table(ddb)
    ddb.put_item(TableName=name, Item=task("a", status="open", due=1))
    ddb.delete_table(TableName=name)
    indexed_table(ddb, name=name)
    assert by_status(ddb, name, "open") == []


def test_an_index_backfill_cut_by_a_kill_resumes_at_the_next_start(tmp_path):
    """Whether or not the kill comes during the backfill, the index is
    ACTIVE after the restart and holds every item's entry."""
    with NimbusServer(data_dir=tmp_path) as first:
        client = first.client("dynamodb")
        table = unique()
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        items = [{"PutRequest": {"Item": {"pk": {"S": f"k{n}"}, "color": {"S": COLORS[n % 3]}}}}
                 for n in range(3000)]
        for start in range(0, len(items), 25):
            client.batch_write_item(RequestItems={table: items[start:start + 25]})
        client.update_table(
            TableName=table, AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[{"Create": {
                "IndexName": "byColor", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
        first.stop(sig=signal.SIGKILL)
    with NimbusServer(data_dir=tmp_path) as second:
        client = second.client("dynamodb")
        wait_active(client, table)
        for n, color in enumerate(COLORS):
            got = sorted(i["pk"]["S"] for i in by_color(client, table, color))
            assert got == sorted(f"k{k}" for k in range(n, 3000, 3))


def test_indexes_survive_a_restart_and_a_kill(tmp_path):
    with NimbusServer(data_dir=tmp_path) as first:
        client = first.client("dynamodb")
        table = indexed_table(client)
        for n in range(5):
            client.put_item(TableName=table, Item=task(f"k{n}", status="open", due=n, owner="o"))
        client.delete_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "k0"}})
        # Acknowledged writes survive a SIGKILL: the store's WAL holds them.
        first.stop(sig=signal.SIGKILL)
    with NimbusServer(data_dir=tmp_path) as second:
        client = second.client("dynamodb")
        assert by_status(client, table, "open") == ["k1", "k2", "k3", "k4"]
        client.put_item(TableName=table, Item=task("k5", status="open", due=0))
        assert by_status(client, table, "open") == ["k5", "k1", "k2", "k3", "k4"]
        described = client.describe_table(TableName=table)["Table"]
        assert len(described["GlobalSecondaryIndexes"]) == 2
