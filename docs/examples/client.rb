# Start a run of a branch with Ruby's standard library, then read it back.
# Usage: CI_URL=http://127.0.0.1:8000 CI_TOKEN=lci_... ruby client.rb REPO [BRANCH]
require "json"
require "net/http"
require "uri"

base = ENV.fetch("CI_URL")
token = ENV.fetch("CI_TOKEN")
repo = ARGV.fetch(0)
branch = ARGV.fetch(1, "master")

def check(response)
  body = JSON.parse(response.body)
  raise "#{response.code}: #{body["error"]}" unless body["status"] == "ok"
  body
end

uri = URI("#{base}/api/v1/run/#{repo}?token=#{token}")
created = check(Net::HTTP.post_form(uri, "branch" => branch, "extra" => "from ruby"))
job = created["job"]
puts "created #{job["id"]} #{created["url"]}"

uri = URI("#{base}/api/v1/run/#{repo}/search")
uri.query = URI.encode_www_form(token: token, search: "id:#{job["id"]}")
found = check(Net::HTTP.get_response(uri))
puts "found #{found["job"]["id"]} #{found["job"]["calculated_status"]}"

uri = URI("#{base}/api/v1/runners/#{repo}/#{job["uuid"]}")
request = Net::HTTP::Get.new(uri)
request["Authorization"] = "Bearer #{token}"
response = Net::HTTP.start(uri.hostname, uri.port) { |http| http.request(request) }
puts "runners #{check(response)["runners"].length}"
