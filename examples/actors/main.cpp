// Ray-style actors: a counter, and a bank whose accounts are actors that
// hold state between calls and are found by name.
#include <cstdio>
#include <string>
#include <vector>

#include <lumen/lumen.hpp>

/// One number, changed one call at a time.
struct Counter {
  static Counter* create(int start) {
    return new Counter{start};
  }

  int add(int x) {
    return value += x;
  }

  int value = 0;
};

/// One bank account; a withdrawal that would overdraw throws.
struct Account {
  static std::unique_ptr<Account> open(std::string owner, long balance) {
    return std::make_unique<Account>(Account{std::move(owner), balance});
  }

  long deposit(long amount) {
    return balance += amount;
  }

  long withdraw(long amount) {
    if (amount > balance)
      throw std::runtime_error(owner + " has only " + std::to_string(balance));
    return balance -= amount;
  }

  long balance_of() {
    return balance;
  }

  std::string owner;
  long balance = 0;
};

LUMEN_REMOTE(Counter::create, &Counter::add);
LUMEN_REMOTE(Account::open, &Account::deposit, &Account::withdraw,
             &Account::balance_of);

/// A task moving money between two accounts it finds by name.
bool transfer(std::string from, std::string to, long amount) {
  auto a = lumen::get_actor<Account>(from, "bank");
  auto b = lumen::get_actor<Account>(to, "bank");
  try {
    lumen::get(a->task(&Account::withdraw).remote(amount));
  } catch (const lumen::task_error&) {
    return false;
  }
  lumen::get(b->task(&Account::deposit).remote(amount));
  return true;
}

LUMEN_REMOTE(transfer);

int main() {
  lumen::init_guard lumen;

  auto counter = lumen::actor(Counter::create).remote(0);
  std::vector<lumen::object_ref<int>> steps;
  for (int i = 0; i < 5; ++i)
    steps.push_back(counter.task(&Counter::add).remote(10));
  for (int v : lumen::get(steps)) // calls ran in the order they were sent
    std::printf("counter: %d\n", v);

  auto alice = lumen::actor(Account::open)
                 .name("alice", "bank")
                 .remote(std::string{"alice"}, 100L);
  auto bob = lumen::actor(Account::open)
               .name("bob", "bank")
               .remote(std::string{"bob"}, 20L);
  bool ok = lumen::get(lumen::task(transfer).remote(std::string{"alice"},
                                                    std::string{"bob"}, 70L));
  bool overdrawn = !lumen::get(lumen::task(transfer).remote(
    std::string{"alice"}, std::string{"bob"}, 70L));
  std::printf("transfer 70: %s; again: %s\n", ok ? "done" : "refused",
              overdrawn ? "refused" : "done");
  std::printf("alice %ld, bob %ld\n",
              lumen::get(alice.task(&Account::balance_of).remote()),
              lumen::get(bob.task(&Account::balance_of).remote()));
  return 0;
}
