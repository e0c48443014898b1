"""DynamoDB transactions through boto3: TransactWriteItems applies all its
actions or none, with DynamoDB's cancellation reasons, idempotency tokens
and doubled capacity; TransactGetItems reads items together; concurrent
transfers between items never create or lose a unit."""

import threading

import pytest
from botocore.exceptions import ClientError

from dynamodb_support import ddb, make_table, server, validation  # noqa: F401 (fixtures)


def item(ddb, table, key):
    return ddb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")


def test_all_actions_apply_together(ddb):
    table = make_table(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "counter"}, "n": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "old"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "guard"}, "open": {"BOOL": True}})
    result = ddb.transact_write_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "v": {"S": "x"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table, "Key": {"pk": {"S": "counter"}},
                    "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "old"}}}},
        {"ConditionCheck": {"TableName": table, "Key": {"pk": {"S": "guard"}},
                            "ConditionExpression": "#o = :yes", "ExpressionAttributeNames": {"#o": "open"},
                            "ExpressionAttributeValues": {":yes": {"BOOL": True}}}},
    ])
    # Four items of under 1 KB, at twice a single write's cost.
    assert result["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 8.0, "WriteCapacityUnits": 8.0}]
    assert item(ddb, table, "new") == {"pk": {"S": "new"}, "v": {"S": "x"}}
    assert item(ddb, table, "counter")["n"] == {"N": "2"}
    assert item(ddb, table, "old") is None
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 3


def test_one_failed_condition_cancels_everything(ddb):
    table = make_table(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "taken"}, "owner": {"S": "ann"}})
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "fresh"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "taken"}, "owner": {"S": "bob"}},
                     "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "nothing"}}}},
        ])
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["Error"]["Message"] == ("Transaction cancelled, please refer cancellation reasons for "
                                         "specific reasons [None, ConditionalCheckFailed, None]")
    assert error["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
         "Item": {"pk": {"S": "taken"}, "owner": {"S": "ann"}}},
        {"Code": "None"},
    ]
    assert item(ddb, table, "fresh") is None
    assert item(ddb, table, "taken")["owner"] == {"S": "ann"}

    # An update that cannot apply cancels too, with the reason why.
    ddb.put_item(TableName=table, Item={"pk": {"S": "text"}, "n": {"S": "not a number"}})
    with pytest.raises(ClientError) as invalid:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "fresh"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "text"}}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ])
    reasons = invalid.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ValidationError"]
    assert "operand" in reasons[1]["Message"].lower()
    assert item(ddb, table, "fresh") is None


def test_requests_are_validated_as_dynamodb_validates_them(ddb):
    table = make_table(ddb)
    same = {"TableName": table, "Key": {"pk": {"S": "a"}}}
    assert validation(ddb.transact_write_items, TransactItems=[{"Delete": same}, {"Delete": same}]) == \
        "Transaction request cannot include multiple operations on one item"
    assert validation(ddb.transact_write_items, TransactItems=[
        {"Delete": same, "Put": {"TableName": table, "Item": {"pk": {"S": "b"}}}}]) == \
        "TransactItems can only contain one of Check, Put, Update or Delete"
    with pytest.raises(ClientError) as key_update:
        ddb.transact_write_items(TransactItems=[{"Update": {
            "TableName": table, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET pk = :v",
            "ExpressionAttributeValues": {":v": {"S": "b"}}}}])
    assert key_update.value.response["Error"]["Code"] == "ValidationException"
    assert "part of the key" in key_update.value.response["Error"]["Message"]


def test_a_transaction_of_more_than_4_mb_is_refused_whole(ddb):
    table = make_table(ddb)
    big = "x" * (390 * 1024)  # with its key, just over 390 KB an item
    puts = [{"Put": {"TableName": table, "Item": {"pk": {"S": f"big{i}"}, "v": {"S": big}}}}
            for i in range(11)]
    # Eleven come to 4.2 MB: refused before anything is written.
    assert validation(ddb.transact_write_items, TransactItems=puts) == \
        "Transaction request cannot be larger than 4 MB"
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 0
    # Ten (3.8 MB), and a delete's key besides, are within the limit.
    ddb.transact_write_items(TransactItems=puts[:10] + [
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "gone"}}}}])
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 10


def test_a_client_request_token_makes_a_retry_harmless(ddb):
    table = make_table(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "c"}, "n": {"N": "0"}})
    add_one = [{"Update": {"TableName": table, "Key": {"pk": {"S": "c"}}, "UpdateExpression": "ADD n :one",
                           "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    ddb.transact_write_items(TransactItems=add_one, ClientRequestToken="retry-1")
    ddb.transact_write_items(TransactItems=add_one, ClientRequestToken="retry-1")
    assert item(ddb, table, "c")["n"] == {"N": "1"}
    add_two = [{"Update": {**add_one[0]["Update"], "ExpressionAttributeValues": {":one": {"N": "2"}}}}]
    with pytest.raises(ClientError) as mismatch:
        ddb.transact_write_items(TransactItems=add_two, ClientRequestToken="retry-1")
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    ddb.transact_write_items(TransactItems=add_two, ClientRequestToken="retry-2")
    assert item(ddb, table, "c")["n"] == {"N": "3"}


def test_transact_get_items_reads_in_order(ddb):
    table = make_table(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "x": {"N": "1"}, "y": {"N": "2"}})
    result = ddb.transact_get_items(ReturnConsumedCapacity="TOTAL", TransactItems=[
        {"Get": {"TableName": table, "Key": {"pk": {"S": "missing"}}}},
        {"Get": {"TableName": table, "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "y"}},
    ])
    assert result["Responses"] == [{}, {"Item": {"y": {"N": "2"}}}]
    # Two items, each twice a strongly consistent read of one 4 KB unit.
    assert result["ConsumedCapacity"][0]["ReadCapacityUnits"] == 4.0


def test_concurrent_transfers_conserve_the_total(server, ddb):
    table = make_table(ddb)
    accounts = ["a", "b", "c"]
    for account in accounts:
        ddb.put_item(TableName=table, Item={"pk": {"S": account}, "balance": {"N": "100"}})
    failures = []

    def transfer(worker):
        client = server.client("dynamodb")
        for i in range(30):
            source, target = accounts[(worker + i) % 3], accounts[(worker + i + 1) % 3]
            try:
                client.transact_write_items(TransactItems=[
                    {"Update": {"TableName": table, "Key": {"pk": {"S": source}},
                                "UpdateExpression": "SET balance = balance - :x",
                                "ConditionExpression": "balance >= :x",
                                "ExpressionAttributeValues": {":x": {"N": "7"}}}},
                    {"Update": {"TableName": table, "Key": {"pk": {"S": target}},
                                "UpdateExpression": "SET balance = balance + :x",
                                "ExpressionAttributeValues": {":x": {"N": "7"}}}},
                ])
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    failures.append(error)

    threads = [threading.Thread(target=transfer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    balances = [int(item(ddb, table, account)["balance"]["N"]) for account in accounts]
    assert sum(balances) == 300 and min(balances) >= 0, balances
