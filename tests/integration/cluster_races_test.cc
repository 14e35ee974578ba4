// Two nodes creating one name at the same moment: the one whose insert comes second answers
// ALREADY_EXISTS, as one node would, instead of overwriting the other's queue (which made both
// creates succeed) or failing on the key violation (a 500). The other node is played by a
// transaction held open on the database: its uncommitted row is invisible to the node's
// existence check, so the node's insert waits for it, and the row commits while it waits.
#include <functional>
#include <thread>

#include "integration/cluster_support.h"

namespace stratus {
namespace {

using testing::ClusterQueueName;
using testing::ClusterTest;

class ClusterRace : public ClusterTest {
 protected:
  // Runs `request` (a REST call through node 0) while `sql` is in a transaction that another
  // connection commits only once the node's statement waits on its lock; the call's status.
  int RaceAgainst(const std::string& sql, const std::function<int()>& request) {
    PGconn* other = PQconnectdb(conninfo_.c_str());
    EXPECT_EQ(PQstatus(other), CONNECTION_OK) << PQerrorMessage(other);
    auto exec = [&](const std::string& s) {
      PGresult* r = PQexec(other, s.c_str());
      EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << s << ": " << PQresultErrorMessage(r);
      PQclear(r);
    };
    exec("BEGIN");
    exec(sql);
    int status = 0;
    std::thread call([&] { status = request(); });
    // The node's insert waits for this transaction's row lock.
    const std::string waiting =
        "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
        "current_database()";
    bool waited = false;
    for (int i = 0; i < 600 && !waited; ++i) {
      waited = Sql(waiting) != "0";
      if (!waited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(waited) << "the node's write never waited on the other transaction";
    exec("COMMIT");
    call.join();
    PQfinish(other);
    return status;
  }
};

TEST_F(ClusterRace, CreatingAQueueAnotherNodeIsCreatingAnswersAlreadyExists) {
  StartNodes(1);
  CreateQueue(0, "model", {{"rateLimits", {{"maxDispatchesPerSecond", 7}}}});
  const std::string race = ClusterQueueName("race");
  int status = RaceAgainst("INSERT INTO queues(name, state, doc, ext) SELECT '" + race +
                               "', state, replace(doc, 'queues/model', 'queues/race'), ext FROM queues WHERE name = '" +
                               ClusterQueueName("model") + "'",
                           [&] {
                             testing::RestClient rest;
                             auto r = rest.Post(Url(0, "/queues"), {{"name", race}});
                             return r.status;
                           });
  EXPECT_EQ(status, 409);
  // The queue is the one committed first, not overwritten by the losing create's defaults.
  testing::RestClient rest;
  auto q = rest.Get(Url(0, "/queues/race"));
  ASSERT_EQ(q.status, 200) << q.body.dump();
  EXPECT_EQ(q.body["rateLimits"]["maxDispatchesPerSecond"], 7) << q.body.dump();
}

TEST_F(ClusterRace, CreatingATaskAnotherNodeIsCreatingAnswersAlreadyExists) {
  StartNodes(1);
  CreateQueue(0, "q");
  testing::RestClient rest;
  ASSERT_EQ(rest.Post(Url(0, "/queues/q:pause")).status, 200);
  ASSERT_TRUE(ClusterTest::CreateTask(rest, nodes_[0]->tasks_url(), "q", "seed", "http://127.0.0.1:1/x"));
  const std::string q = ClusterQueueName("q");
  int status = RaceAgainst(
      "INSERT INTO tasks SELECT queue, 'dup', schedule_us, create_us, replace(doc, 'tasks/seed', 'tasks/dup'), body, "
      "exec_count, prev_response, dispatch_count, response_count, first_dispatch_us, last_schedule_us, "
      "last_dispatch_us, last_response_us, last_code, last_message FROM tasks WHERE queue = '" +
          q + "' AND id = 'seed'",
      [&] {
        testing::RestClient own;
        nlohmann::json t = {{"name", q + "/tasks/dup"}, {"httpRequest", {{"url", "http://127.0.0.1:1/y"}}}};
        return own.Post(Url(0, "/queues/q/tasks"), {{"task", t}}).status;
      });
  EXPECT_EQ(status, 409);
  // The node still takes writes: the losing create did not poison its writer.
  EXPECT_TRUE(ClusterTest::CreateTask(rest, nodes_[0]->tasks_url(), "q", "after", "http://127.0.0.1:1/z"));
  EXPECT_EQ(rest.Get(Url(0, "/queues/q/tasks/dup")).status, 200);
}

}  // namespace
}  // namespace stratus
