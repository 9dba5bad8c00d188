# Models arrive with their issue; the app is registered now so that migrations and URLs have a home.
