def test_register_then_me(client):
    response = client.post("/api/auth/register", json={"email": "a@example.com", "password": "long enough password"})
    assert response.status_code == 201
    token = response.json["data"]["session"]["token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["data"]["role"] == "owner"


def test_api_client(api_client, run_jobs):
    assert api_client.get("/api/me").status_code == 200
    assert run_jobs() == 0
