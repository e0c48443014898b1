"""Concurrent writers: ADD increments from many clients lose nothing, and
of many conditional creates of one item exactly one wins."""

import threading

from dynamodb_support import ddb, make_table, server  # noqa: F401


def run_threads(count, target):
    errors = []

    def guarded(index):
        try:
            target(index)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_concurrent_add_increments_lose_nothing(server, ddb):
    table = make_table(ddb)
    key = {"pk": {"S": "counter"}}
    clients = [server.client("dynamodb") for _ in range(8)]

    def increment(index):
        for _ in range(50):
            clients[index].update_item(TableName=table, Key=key, UpdateExpression="ADD n :one",
                                       ExpressionAttributeValues={":one": {"N": "1"}})

    run_threads(8, increment)
    assert ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["n"] == {"N": "400"}


def test_read_modify_write_with_set_loses_nothing(server, ddb):
    table = make_table(ddb)
    key = {"pk": {"S": "list"}}
    ddb.put_item(TableName=table, Item=dict(key, l={"L": []}, n={"N": "0"}))
    clients = [server.client("dynamodb") for _ in range(6)]

    def append(index):
        for i in range(20):
            clients[index].update_item(
                TableName=table, Key=key, UpdateExpression="SET l = list_append(l, :x), n = n + :one",
                ExpressionAttributeValues={":x": {"L": [{"S": f"{index}-{i}"}]}, ":one": {"N": "1"}})

    run_threads(6, append)
    item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert item["n"] == {"N": "120"}
    assert len(item["l"]["L"]) == 120


def test_only_one_conditional_create_wins(server, ddb):
    table = make_table(ddb)
    winners = []
    clients = [server.client("dynamodb") for _ in range(10)]

    def create(index):
        try:
            clients[index].put_item(TableName=table, Item={"pk": {"S": "once"}, "by": {"N": str(index)}},
                                    ConditionExpression="attribute_not_exists(pk)")
            winners.append(index)
        except clients[index].exceptions.ConditionalCheckFailedException:
            pass

    run_threads(10, create)
    assert len(winners) == 1
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "once"}})["Item"]
    assert stored["by"] == {"N": str(winners[0])}
