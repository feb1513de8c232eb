-- Each subgraph owns its database; none reads another's.
CREATE DATABASE gigs;
CREATE DATABASE users;
CREATE DATABASE topclients;
