"""What the tests share: AppTest and browser helpers, the PostgreSQL test server, small studies."""
