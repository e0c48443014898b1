"""What DynamoDB tables are worth watching and billing for: DescribeTable's
ItemCount and TableSizeBytes stay exact through every kind of write, under
concurrency and across restarts; storage is metered in byte-minutes (item
sizes plus DynamoDB's 100 bytes of overhead per item); /_nimbus/metrics
counts requests, errors, consumed capacity and table sizes."""

import json
import threading
import time

from botocore.exceptions import ClientError

from dynamodb_support import make_table, unique
from nimbus_harness import NimbusServer
from test_metrics import scrape, value


def string_item_size(item):
    """DynamoDB's size of an item of string attributes: names plus UTF-8 values."""
    return sum(len(name.encode()) + len(attribute["S"].encode()) for name, attribute in item.items())


def describe(ddb, table):
    description = ddb.describe_table(TableName=table)["Table"]
    return description["ItemCount"], description["TableSizeBytes"]


def test_counts_follow_every_kind_of_write_and_survive_a_restart(tmp_path):
    with NimbusServer(data_dir=tmp_path) as server:
        ddb = server.client("dynamodb")
        table = make_table(ddb)
        assert describe(ddb, table) == (0, 0)
        items = {f"k{i}": {"pk": {"S": f"k{i}"}, "v": {"S": "x" * i}} for i in range(10)}
        for item in items.values():
            ddb.put_item(TableName=table, Item=item)
        expected_bytes = sum(string_item_size(item) for item in items.values())
        assert describe(ddb, table) == (10, expected_bytes)

        # A put that replaces an item changes only the size.
        items["k3"] = {"pk": {"S": "k3"}, "v": {"S": "y" * 50}}
        ddb.put_item(TableName=table, Item=items["k3"])
        # UpdateItem grows one item and creates another.
        ddb.update_item(TableName=table, Key={"pk": {"S": "k4"}}, UpdateExpression="SET w = :w",
                        ExpressionAttributeValues={":w": {"S": "abcdef"}})
        items["k4"]["w"] = {"S": "abcdef"}
        ddb.update_item(TableName=table, Key={"pk": {"S": "new"}}, UpdateExpression="SET w = :w",
                        ExpressionAttributeValues={":w": {"S": "z"}})
        items["new"] = {"pk": {"S": "new"}, "w": {"S": "z"}}
        # A delete of a missing item changes nothing; of a present one, removes it.
        ddb.delete_item(TableName=table, Key={"pk": {"S": "absent"}})
        ddb.delete_item(TableName=table, Key={"pk": {"S": "k0"}})
        del items["k0"]
        # A failed condition writes nothing.
        try:
            ddb.put_item(TableName=table, Item={"pk": {"S": "k1"}, "huge": {"S": "q" * 900}},
                         ConditionExpression="attribute_not_exists(pk)")
            raise AssertionError("the condition should have failed")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
        # BatchWriteItem: two new items, one replaced, one deleted.
        batch = [
            {"PutRequest": {"Item": {"pk": {"S": "b1"}, "v": {"S": "1234"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "b2"}, "v": {"S": ""}}}},
            {"PutRequest": {"Item": {"pk": {"S": "k9"}, "v": {"S": "short"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "k8"}}}},
        ]
        ddb.batch_write_item(RequestItems={table: batch})
        items["b1"] = {"pk": {"S": "b1"}, "v": {"S": "1234"}}
        items["b2"] = {"pk": {"S": "b2"}, "v": {"S": ""}}
        items["k9"] = {"pk": {"S": "k9"}, "v": {"S": "short"}}
        del items["k8"]

        expected = (len(items), sum(string_item_size(item) for item in items.values()))
        assert describe(ddb, table) == expected
        assert ddb.scan(TableName=table, Select="COUNT")["Count"] == expected[0]

    # Counted again from the store after a restart: the same answer.
    with NimbusServer(data_dir=tmp_path) as server:
        assert describe(server.client("dynamodb"), table) == expected


def test_concurrent_writers_leave_exact_counts(tmp_path):
    with NimbusServer(data_dir=tmp_path) as server:
        ddb = server.client("dynamodb")
        table = make_table(ddb)
        for i in range(300):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"seed{i}"}, "v": {"S": "s" * (i % 40)}})

    # After a restart the table is counted from the store once, then kept
    # by each write's change: six writers and DescribeTable calls at once
    # must leave what a third start counts from the store again.
    with NimbusServer(data_dir=tmp_path) as server:
        failures = []

        def writer(worker):
            client = server.client("dynamodb")
            try:
                for i in range(60):
                    key = f"w{worker}-{i % 25}"  # rewrites some of its own items
                    client.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"S": "w" * i}})
                    if i % 7 == 0:
                        client.delete_item(TableName=table, Key={"pk": {"S": f"seed{worker * 30 + i}"}})
                    if i % 10 == 0:
                        client.describe_table(TableName=table)
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        live = describe(server.client("dynamodb"), table)

    with NimbusServer(data_dir=tmp_path) as server:
        ddb = server.client("dynamodb")
        recounted = describe(ddb, table)
        scanned = ddb.scan(TableName=table)["Items"]
    assert live == recounted
    assert recounted == (len(scanned), sum(string_item_size(item) for item in scanned))


def storage_recorded(server, table):
    """The dynamodb.storage amount recorded for `table`, in byte-minutes."""
    status, body = server.get("/_nimbus/cost?by=resource")
    assert status == 200
    lines = [entry for entry in json.loads(body)["lines"]
             if entry["meter"] == "dynamodb.storage" and entry.get("resource") == table]
    if not lines:
        return 0
    (line,) = lines
    assert line["unit"] == "GB-months" and line["recordedUnit"] == "byte-minutes"
    return line["recorded"]


def test_storage_is_metered_from_creation_to_deletion_and_kept(tmp_path):
    server = NimbusServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        created_before = time.time()
        kept = make_table(ddb)
        created_after = time.time()
        items = [{"pk": {"S": f"key{i:02}"}, "v": {"S": "v" * 20}} for i in range(20)]
        for item in items:
            ddb.put_item(TableName=kept, Item=item)
        # Billed: item sizes (7 + 21 bytes each) plus 100 bytes per item.
        billed = sum(string_item_size(item) for item in items) + 100 * len(items)
        assert billed == 20 * 128

        dropped = make_table(ddb)
        ddb.put_item(TableName=dropped, Item={"pk": {"S": "only"}, "v": {"S": "x" * 1000}})
        time.sleep(2)
        ddb.delete_table(TableName=dropped)
        time.sleep(2)
    finally:
        stop_began = time.time()
        server.stop()
        stop_ended = time.time()

    # The last writes came before the sleeps: the kept table was billed at
    # its final size for about the time from creation to the stop.
    with NimbusServer(data_dir=tmp_path) as again:
        recorded = storage_recorded(again, kept)
        least = billed * (stop_began - created_after - 1.5) / 60  # its puts took under 1.5 s
        most = billed * (stop_ended - created_before) / 60
        assert least <= recorded <= most, (least, recorded, most)
        # The deleted table: about 2 s of one 1,005-byte item plus 100
        # bytes, and nothing after its deletion.
        dropped_recorded = storage_recorded(again, dropped)
        assert 1105 * 1.5 / 60 <= dropped_recorded <= 1105 * 6 / 60, dropped_recorded


def test_prometheus_counts_requests_errors_capacity_and_sizes():
    with NimbusServer() as server:
        ddb = server.client("dynamodb")
        table = make_table(ddb)
        for i in range(4):
            ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"S": "x" * 1500}})
        ddb.get_item(TableName=table, Key={"pk": {"S": "k0"}}, ConsistentRead=True)
        missing = unique()
        try:
            ddb.get_item(TableName=missing, Key={"pk": {"S": "k0"}})
            raise AssertionError("the table should not exist")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        items, size = describe(ddb, table)

        deadline = time.time() + 10
        while True:
            families = scrape(server)
            try:
                written = value(families, "nimbus_dynamodb_consumed_write_capacity_units", table=table)
                break
            except (KeyError, StopIteration, AssertionError):
                assert time.time() < deadline, "consumed capacity never appeared"
                time.sleep(0.2)
        assert written == 8  # 4 items of 2 KB
        assert value(families, "nimbus_dynamodb_consumed_read_capacity_units", table=table) == 1
        assert value(families, "nimbus_dynamodb_requests", operation="PutItem") == 4
        assert value(families, "nimbus_dynamodb_requests", operation="GetItem") == 2
        assert value(families, "nimbus_dynamodb_errors", operation="GetItem", type="user") == 1
        assert value(families, "nimbus_dynamodb_errors", operation="PutItem", type="user") == 0
        assert value(families, "nimbus_dynamodb_errors", operation="GetItem", type="system") == 0
        assert value(families, "nimbus_dynamodb_table_items", table=table) == items == 4
        assert value(families, "nimbus_dynamodb_table_size_bytes", table=table) == size
